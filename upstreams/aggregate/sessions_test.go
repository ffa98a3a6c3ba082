package aggregate

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/internal/clientsession"
	"github.com/mcpgw/mcpgw/internal/testutil"
)

// TestSessionsSurviveReplicasAndRestarts: a session issued by one sidecar
// works on another that shares the session secret (a second replica, or
// the same one after a restart), and on no other.
func TestSessionsSurviveReplicasAndRestarts(t *testing.T) {
	secret := strings.Repeat("s", 32)
	sealer := func() *clientsession.Sealer {
		s, err := clientsession.NewSealer([]string{secret}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// No upstreams: sessions do not depend on them (and several sidecars
	// with discovery running would trip the per-sidecar leak check).
	_, replicaA := sidecarFor(t, Options{Sessions: sealer()})
	_, replicaB := sidecarFor(t, Options{Sessions: sealer()})
	_, stranger := sidecarFor(t, Options{})

	cs := connect(t, replicaA, nil, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	id := cs.ID()
	if !strings.HasPrefix(id, "mcpgw1_") {
		t.Fatalf("session id %q is not sealed", id)
	}
	for _, tc := range []struct {
		endpoint string
		status   int
	}{{replicaA, 200}, {replicaB, 200}, {stranger, 404}} {
		req, _ := http.NewRequest(http.MethodPost, tc.endpoint, strings.NewReader(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Session-Id", id)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("tools/list with A's session on %s: %d, want %d", tc.endpoint, resp.StatusCode, tc.status)
		}
	}
}

// TestEventStreamCarriesListChanged: the GET stream tells the client when
// an upstream's tools change.
func TestEventStreamCarriesListChanged(t *testing.T) {
	alpha := newUpstream(t, "alpha", false)
	s, endpoint := sidecarFor(t, Options{}, alpha.up)
	testutil.Eventually(t, "alpha's tools", func() bool { return len(s.cat.tools(mustScope(t, s))) == 3 })
	cs := connect(t, endpoint, nil, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, endpoint, nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Session-Id", cs.ID())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	mcp.AddTool(alpha.srv, &mcp.Tool{Name: "late", Description: "added later"},
		func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{}, nil, nil
		})
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if strings.Contains(lines.Text(), "notifications/tools/list_changed") {
			return
		}
	}
	t.Fatal("stream ended without list_changed")
}

// TestSessionNotFoundReply: a POST with a session id the sidecar did not
// issue gets MCP's 404 with a JSON-RPC error, as go-sdk servers answer.
func TestSessionNotFoundReply(t *testing.T) {
	w := httptest.NewRecorder()
	sessionNotFound(w)
	const want = `{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found: initialize a new session"}}`
	if w.Code != http.StatusNotFound || w.Body.String() != want || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %v %s", w.Code, w.Header(), w.Body)
	}
}
