package router

import (
	"testing"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

func TestPassThroughOnSingleServerEndpoint(t *testing.T) {
	r := testRouter(t)
	tests := []struct {
		name, path, body string
		routed           bool
	}{
		{"sampling answer", "/demo/mcp", `{"jsonrpc":"2.0","id":0,"result":{"role":"assistant","content":{"type":"text","text":"hi"}}}`, true},
		{"elicitation refusal", "/demo/mcp", `{"jsonrpc":"2.0","id":"e1","error":{"code":-1,"message":"no"}}`, true},
		{"log level", "/demo/mcp", `{"jsonrpc":"2.0","id":3,"method":"logging/setLevel","params":{"level":"debug"}}`, true},
		{"cancel", "/demo/mcp", `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}`, true},
		{"initialized stays", "/demo/mcp", `{"jsonrpc":"2.0","method":"notifications/initialized"}`, false},
		{"ping stays", "/demo/mcp", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, false},
		{"answer on aggregate stays", "/mcp", `{"jsonrpc":"2.0","id":0,"result":{}}`, false},
		{"log level on server list stays", "/mcp/demo", `{"jsonrpc":"2.0","id":3,"method":"logging/setLevel","params":{"level":"debug"}}`, false},
		{"unroutable server stays", "/local/mcp", `{"jsonrpc":"2.0","id":0,"result":{}}`, false},
		{"no client session stays", "/demo/mcp", `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := Headers{":method": "POST", ":path": tt.path, "mcp-session-id": "s1"}
			if tt.name == "no client session stays" {
				delete(h, "mcp-session-id") // nothing to tie it to upstream
			}
			d := r.decideBody(h, []byte(tt.body))
			if d.Reply != nil {
				t.Fatalf("reply %+v", d.Reply)
			}
			if !tt.routed {
				if d.Call != nil {
					t.Fatalf("routed to %s", d.Call.Upstream.Alias)
				}
				return
			}
			if d.Call == nil || d.Call.Upstream.Alias != "demo" || d.Call.ClientSession != "s1" || string(d.Body) != tt.body {
				t.Fatalf("got %+v body %s", d.Call, d.Body)
			}
			if c, _ := header(d, wellknown.RouteHeader); c != "mcp_upstream_demo" {
				t.Fatalf("cluster %q", c)
			}
		})
	}
}
