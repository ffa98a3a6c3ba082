package router

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

func TestResourceRouting(t *testing.T) {
	r := testRouter(t)
	req := func(method, uri string) string {
		b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 7, "method": method, "params": map[string]any{"uri": uri}})
		return string(b)
	}
	tests := []struct {
		name, path, body string
		upstream, sent   string // "" for an Unknown resource error
	}{
		{"read encoded", "/mcp", req("resources/read", "mcpgw://demo/test://static-text"), "demo", "test://static-text"},
		{"read expanded template", "/mcp/my_wiki", req("resources/read", "mcpgw://my_wiki/wiki://page/a%20b?rev=2#top"), "my_wiki", "wiki://page/a%20b?rev=2#top"},
		{"read out of scope", "/mcp/my_wiki", req("resources/read", "mcpgw://demo/test://x"), "", ""},
		{"read unencoded on prefixed scope", "/mcp", req("resources/read", "test://static-text"), "", ""},
		{"read unknown alias", "/mcp", req("resources/read", "mcpgw://nope/test://x"), "", ""},
		{"read on single endpoint", "/demo/mcp", req("resources/read", "test://static-text"), "demo", "test://static-text"},
		{"single accepts its encoding", "/demo/mcp", req("resources/read", "mcpgw://demo/test://x"), "demo", "test://x"},
		{"subscribe", "/mcp", req("resources/subscribe", "mcpgw://demo/test://watched"), "demo", "test://watched"},
		{"unsubscribe on single", "/demo/mcp", req("resources/unsubscribe", "test://watched"), "demo", "test://watched"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := r.decideBody(Headers{":method": "POST", ":path": tt.path}, []byte(tt.body))
			if tt.upstream == "" {
				if d.Reply == nil || d.Reply.Status != 200 || !strings.Contains(string(d.Reply.Body), "Unknown resource") ||
					!strings.Contains(string(d.Reply.Body), `"id":7`) {
					t.Fatalf("want Unknown resource error, got %+v", d)
				}
				return
			}
			if d.Call == nil || d.Call.Upstream.Alias != tt.upstream || d.Call.Name != tt.sent {
				t.Fatalf("got call %+v reply %+v", d.Call, d.Reply)
			}
			var sent struct {
				Params struct {
					URI string `json:"uri"`
				} `json:"params"`
			}
			if err := json.Unmarshal(d.Body, &sent); err != nil || sent.Params.URI != tt.sent {
				t.Fatalf("body %s", d.Body)
			}
			if c, _ := header(d, wellknown.RouteHeader); c != "mcp_upstream_"+tt.upstream {
				t.Fatalf("cluster %q", c)
			}
		})
	}
}

func TestResourceRoutingNeedsAURI(t *testing.T) {
	r := testRouter(t)
	d := r.decideBody(Headers{":method": "POST", ":path": "/mcp"}, []byte(`{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"name":"x"}}`))
	if d.Reply == nil || !strings.Contains(string(d.Reply.Body), `needs a string \"uri\"`) {
		t.Fatalf("got %+v", d)
	}
	// Listing stays with the sidecar.
	for _, m := range []string{"resources/list", "resources/templates/list", "prompts/list"} {
		d := r.decideBody(Headers{":method": "POST", ":path": "/mcp"}, []byte(`{"jsonrpc":"2.0","id":1,"method":"`+m+`"}`))
		if d.Call != nil || d.Reply != nil {
			t.Errorf("%s routed: %+v", m, d)
		}
	}
}
