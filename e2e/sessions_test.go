package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/internal/gateway"
)

const testSessionSecret = "e2e-session-secret-0123456789abcdef"

// sessionEra pins a client to the newest protocol version with sessions
// (go-sdk's default, 2026-07-28, has none).
var sessionEra = &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"}

func callEcho(ctx context.Context, t *testing.T, cs *mcp.ClientSession, tool, text string) {
	t.Helper()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: map[string]any{"text": text}})
	if err != nil {
		t.Fatalf("call %s: %v", tool, err)
	}
	if got := res.Content[0].(*mcp.TextContent).Text; !strings.HasSuffix(got, ":"+text) {
		t.Fatalf("call %s = %q", tool, got)
	}
}

// TestTwoReplicasWithoutStickiness: two ext_proc+sidecar replicas behind
// one Envoy, round robin. A session initialized on one replica keeps
// working on the other, for lists and calls alike.
func TestTwoReplicasWithoutStickiness(t *testing.T) {
	alpha := startUpstream(t, "alpha", false, "echo")
	port, _ := freePort()
	gw, _ := startGateway(t, `
mcp_servers:
  alpha:
    url: "`+alpha.URL+`"
gateway:
  session_secrets: ["`+testSessionSecret+`"]
`, gateway.Options{Port: port, Replicas: 2})

	cs := connect(t, gw.Endpoint)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Envoy alternates replicas per request, so runs of one kind of
	// request reach both.
	for i := range 4 {
		if _, err := cs.ListTools(ctx, nil); err != nil {
			t.Fatalf("tools/list %d: %v", i, err)
		}
	}
	for range 4 {
		callEcho(ctx, t, cs, "alpha-echo", "r")
	}
	// go-sdk's default client speaks 2026-07-28, without a session: its
	// calls lease upstream sessions, and a call may come before the
	// previous call's lease is back (its answer's end reaches the gateway
	// after the answer reaches the client), so a replica may hold two.
	for i, r := range gw.Replicas {
		if n := r.Sessions.Len(); n < 1 || n > 2 {
			t.Errorf("replica %d holds %d upstream sessions; want 1 or 2 (every replica served calls, one at a time)", i, n)
		}
	}
}

// TestReplicasWithoutSharedSecretRejectEachOther is the control for the
// test above: without gateway.session_secrets each replica seals with its
// own random key, and a session dies on the other replica.
func TestReplicasWithoutSharedSecretRejectEachOther(t *testing.T) {
	alpha := startUpstream(t, "alpha", false, "echo")
	gw, _ := startGateway(t, "mcp_servers:\n  alpha:\n    url: \""+alpha.URL+"\"\n", gateway.Options{Port: mustFreePort(t), Replicas: 2})
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: gw.Endpoint, MaxRetries: -1, DisableStandaloneSSE: true}, sessionEra)
	if err != nil {
		if !strings.Contains(err.Error(), "session not found") {
			t.Fatalf("connect failed, but not for the session: %v", err)
		}
		return // initialize on one replica, notifications/initialized refused by the other
	}
	defer cs.Close()
	for range 4 {
		if _, err := cs.ListTools(ctx, nil); err != nil {
			return
		}
	}
	t.Fatal("a session from one replica worked on the other without a shared secret")
}

// TestSessionSurvivesGatewayRestart: the gateway (ext_proc, sidecar and
// Envoy) stops and starts again on the same port with the same secret;
// the client's session goes on as if nothing happened.
func TestSessionSurvivesGatewayRestart(t *testing.T) {
	alpha := startUpstream(t, "alpha", false, "echo")
	cfgText := `
mcp_servers:
  alpha:
    url: "` + alpha.URL + `"
gateway:
  session_secrets: ["` + testSessionSecret + `"]
`
	port := mustFreePort(t)
	first, _ := startGateway(t, cfgText, gateway.Options{Port: port})
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: first.Endpoint, DisableStandaloneSSE: true}, sessionEra)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	callEcho(ctx, t, cs, "alpha-echo", "before")
	id := cs.ID()
	first.Close()

	startGateway(t, cfgText, gateway.Options{Port: port})
	waitFor(t, "alpha's tools after the restart", func() bool {
		res, err := cs.ListTools(ctx, nil)
		if err != nil {
			t.Fatalf("tools/list after restart: %v", err)
		}
		return len(res.Tools) == 1
	})
	callEcho(ctx, t, cs, "alpha-echo", "after")
	if cs.ID() != id {
		t.Fatalf("session changed from %s to %s", id, cs.ID())
	}
}

func mustFreePort(t *testing.T) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestUpstreamRestartIsTransparent: the upstream restarts and forgets the
// session the gateway holds for this client; the next call is retried once
// on a new upstream session, and the client never notices.
func TestUpstreamRestartIsTransparent(t *testing.T) {
	alpha := startUpstream(t, "alpha", false, "echo")
	gw := gatewayUnder(t, configFor(map[string]string{"alpha": alpha.URL}))
	cs := connect(t, gw.Endpoint)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	callEcho(ctx, t, cs, "alpha-echo", "one")
	before := alpha.Inits.Load()
	alpha.Restart()
	callEcho(ctx, t, cs, "alpha-echo", "two")
	callEcho(ctx, t, cs, "alpha-echo", "three")
	// One new session for the calls (plus, at most, the sidecar's
	// discovery reconnecting).
	if n := alpha.Inits.Load() - before; n < 1 || n > 2 {
		t.Fatalf("upstream saw %d initialize requests after its restart; want 1 (calls) + at most 1 (discovery)", n)
	}
}
