package router

import (
	"encoding/json"
	"testing"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// completion/complete goes to the upstream its ref names, with the
// upstream's own name, on every kind of endpoint.
func TestCompletionIsRoutedByItsRef(t *testing.T) {
	r := testRouter(t)
	complete := func(ref string) string {
		return `{"jsonrpc":"2.0","id":9,"method":"completion/complete","params":{"ref":` + ref + `,"argument":{"name":"city","value":"Lis"}}}`
	}
	tests := []struct {
		name, path, ref string
		wantRef         string // the ref the upstream gets; "" for a reply
		wantStatus      int
		wantCode        int
	}{
		{"prompt on the aggregate", "/mcp", `{"type":"ref/prompt","name":"demo-greet"}`, `{"name":"greet","type":"ref/prompt"}`, 0, 0},
		{"prompt on a server list", "/mcp/my_wiki", `{"type":"ref/prompt","name":"my_wiki-greet"}`, `{"name":"greet","type":"ref/prompt"}`, 0, 0},
		{"prompt on a single server", "/demo/mcp", `{"type":"ref/prompt","name":"greet"}`, `{"name":"greet","type":"ref/prompt"}`, 0, 0},
		{"resource template", "/mcp", `{"type":"ref/resource","uri":"mcpgw://demo/file:///logs/{day}"}`, `{"type":"ref/resource","uri":"file:///logs/{day}"}`, 0, 0},
		{"unknown prefix", "/mcp", `{"type":"ref/prompt","name":"nope-greet"}`, "", 200, -32602},
		{"out of scope", "/mcp/my_wiki", `{"type":"ref/prompt","name":"demo-greet"}`, "", 200, -32602},
		{"bad ref type", "/mcp", `{"type":"ref/tool","name":"demo-x"}`, "", 200, -32602},
		{"no ref name", "/mcp", `{"type":"ref/prompt"}`, "", 200, -32602},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := r.decideBody(Headers{":method": "POST", ":path": tt.path, "mcp-session-id": "s1"}, []byte(complete(tt.ref)))
			if tt.wantRef == "" {
				if d.Reply == nil || d.Reply.Status != tt.wantStatus {
					t.Fatalf("want a %d reply, got %+v", tt.wantStatus, d)
				}
				var resp struct{ Error struct{ Code int } }
				if json.Unmarshal(d.Reply.Body, &resp); resp.Error.Code != tt.wantCode {
					t.Fatalf("error %s, want code %d", d.Reply.Body, tt.wantCode)
				}
				return
			}
			if d.Reply != nil || d.Call == nil {
				t.Fatalf("not routed: %+v", d)
			}
			var sent struct {
				Params struct {
					Ref      json.RawMessage
					Argument json.RawMessage
				}
			}
			if err := json.Unmarshal(d.Body, &sent); err != nil {
				t.Fatal(err)
			}
			if string(sent.Params.Ref) != tt.wantRef || string(sent.Params.Argument) != `{"name":"city","value":"Lis"}` {
				t.Fatalf("upstream gets ref %s argument %s; want ref %s", sent.Params.Ref, sent.Params.Argument, tt.wantRef)
			}
			if c, _ := header(d, wellknown.RouteHeader); c != "mcp_upstream_"+d.Call.Upstream.Alias {
				t.Fatalf("cluster %q for %s", c, d.Call.Upstream.Alias)
			}
		})
	}
}
