package e2e

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestAggregatedEndpoint lists and calls tools of two upstreams (one
// stateful, one stateless) through Envoy with a go-sdk client.
func TestAggregatedEndpoint(t *testing.T) {
	alpha := startUpstream(t, "alpha", false, "echo", "get-sum")
	beta := startUpstream(t, "beta", true, "echo", "shout")
	gw := gatewayUnder(t, configFor(map[string]string{"alpha": alpha.URL, "beta_svc": beta.URL}))
	cs := connect(t, gw.Endpoint)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var names []string
	waitFor(t, "both upstreams' tools", func() bool {
		res, err := cs.ListTools(ctx, nil)
		if err != nil {
			t.Fatalf("tools/list: %v", err)
		}
		names = names[:0]
		for _, tool := range res.Tools {
			names = append(names, tool.Name)
		}
		return len(names) == 4
	})
	slices.Sort(names)
	if want := []string{"alpha-echo", "alpha-get-sum", "beta_svc-echo", "beta_svc-shout"}; !slices.Equal(names, want) {
		t.Fatalf("tools/list = %v, want %v", names, want)
	}

	initsBefore := alpha.Inits.Load()
	for i, tc := range []struct{ tool, want string }{
		{"alpha-echo", "alpha:echo:hi"},
		{"alpha-get-sum", "alpha:get-sum:hi"},
		{"beta_svc-shout", "beta:shout:hi"},
		{"alpha-echo", "alpha:echo:hi"},
		{"beta_svc-echo", "beta:echo:hi"},
	} {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tc.tool, Arguments: map[string]any{"text": "hi"}})
		if err != nil {
			t.Fatalf("call %d %s: %v", i, tc.tool, err)
		}
		if got := res.Content[0].(*mcp.TextContent).Text; got != tc.want || res.IsError {
			t.Fatalf("call %s = %q (isError %v), want %q", tc.tool, got, res.IsError, tc.want)
		}
	}
	// One upstream session for this client, opened on its first call and
	// reused: never an initialize per call.
	if n := alpha.Inits.Load() - initsBefore; n != 1 {
		t.Errorf("alpha saw %d initialize requests for 3 calls of one client, want 1", n)
	}
	if alpha.Calls.Load() != 3 || beta.Calls.Load() != 2 {
		t.Errorf("upstream calls alpha=%d beta=%d, want 3 and 2", alpha.Calls.Load(), beta.Calls.Load())
	}
	// The upstream never sees the gateway's session id or routing header.
	h := alpha.LastHeaders()
	if got := h.Get("Mcp-Session-Id"); got == "" || got == cs.ID() {
		t.Errorf("alpha got session id %q; want its own, not the gateway's %q", got, cs.ID())
	}

	// The call's bytes went through Envoy to the upstream's cluster.
	waitFor(t, "access log lines", func() bool {
		b, _ := os.ReadFile(gw.AccessLogPath)
		return strings.Contains(string(b), "mcp_upstream_alpha") && strings.Contains(string(b), "mcp_upstream_beta_svc")
	})
}

// TestClientErrors checks the JSON-RPC errors and HTTP statuses a client
// gets for its own mistakes: never a 5xx.
func TestClientErrors(t *testing.T) {
	alpha := startUpstream(t, "alpha", false, "echo")
	gw := gatewayUnder(t, configFor(map[string]string{"alpha": alpha.URL}))
	tests := []struct {
		name   string
		path   string
		body   string
		status int
		code   int
		msg    string
	}{
		{"malformed JSON", "/mcp", `{"jsonrpc":"2.0","id":1,`, 400, -32700, "parse error"},
		{"not JSON-RPC", "/mcp", `{"hello":"world"}`, 400, -32600, "invalid request"},
		{"unknown prefixed tool", "/mcp", `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"nosuch-echo","arguments":{}}}`, 200, -32602, "Unknown tool: nosuch-echo"},
		{"unprefixed tool", "/mcp", `{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"echo"}}`, 200, -32602, "Unknown tool: echo"},
		{"body over the limit", "/mcp", `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"` + strings.Repeat("x", 70000) + `"}}`, 413, -32600, "too large"},
		{"wrong path", "/other", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, 404, -32600, "/mcp"},
	}
	base := strings.TrimSuffix(gw.Endpoint, "/mcp")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, hdr, body := post(t, base+tt.path, []byte(tt.body), nil)
			var resp struct {
				JSONRPC string
				Error   struct {
					Code    int
					Message string
				}
			}
			if err := json.Unmarshal([]byte(body), &resp); err != nil {
				t.Fatalf("status %d, body not JSON: %q", status, body)
			}
			if status != tt.status || resp.Error.Code != tt.code || !strings.Contains(resp.Error.Message, tt.msg) || resp.JSONRPC != "2.0" {
				t.Fatalf("got %d %s; want %d code %d containing %q", status, body, tt.status, tt.code, tt.msg)
			}
			if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("content-type %q", ct)
			}
		})
	}
}

// TestUpstreamDown: a call to an upstream that is not running gets a 502
// with a JSON-RPC error naming that server, and the others keep working.
func TestUpstreamDown(t *testing.T) {
	alpha := startUpstream(t, "alpha", false, "echo")
	port, _ := freePort()
	gw := gatewayUnder(t, configFor(map[string]string{
		"alpha": alpha.URL,
		"gone":  "http://127.0.0.1:" + itoa(port) + "/mcp",
	}))
	status, _, body := post(t, gw.Endpoint, []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"gone-echo","arguments":{}}}`),
		map[string]string{"Mcp-Protocol-Version": "2025-06-18"})
	if status != 502 || !strings.Contains(body, `upstream MCP server \"gone\" is unavailable`) || !strings.Contains(body, `"id":1`) {
		t.Fatalf("call to a dead upstream: %d %s", status, body)
	}
	cs := connect(t, gw.Endpoint)
	ctx := context.Background()
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "gone-echo", Arguments: map[string]any{}}); err == nil {
		t.Fatal("go-sdk client: call to a dead upstream succeeded")
	}
	// The failed call does not break the client's session.
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "alpha-echo", Arguments: map[string]any{"text": "x"}})
	if err != nil || res.Content[0].(*mcp.TextContent).Text != "alpha:echo:x" {
		t.Fatalf("healthy upstream after a dead one: %v %v", res, err)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
