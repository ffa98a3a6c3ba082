package policy

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// TestExamplePolicies loads examples/policies into an engine, as
// access.policy_dir does, and asks it about calls their rules refuse.
func TestExamplePolicies(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("..", "examples", "policies"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, `
mcp_servers:
  db: {url: "https://db.example/mcp"}
  mail: {url: "https://mail.example/mcp"}
access:
  policy_dir: `+dir+`
  keys:
    - {key_alias: dev, key: sk-dev, team_id: devs, object_permission: {mcp_servers: [db, mail]}}
    - {key_alias: temp, key: sk-temp, team_id: contractors, object_permission: {mcp_servers: [mail]}}
  teams:
    - {team_id: devs}
    - {team_id: contractors}
`, Options{})
	tests := []struct {
		key, server, tool, args string
		msg                     string // "" means allowed
	}{
		{"sk-dev", "db", "run_query", `{"sql":"select * from orders"}`, ""},
		{"sk-dev", "db", "run_query", `{"sql":"DROP TABLE orders"}`, "run_query may only read: this statement would change data or schema"},
		{"sk-dev", "db", "run_query", `{"sql":"select 1","params":[[1]]}`, "Access denied by policy"},
		{"sk-dev", "mail", "send_email", `{"message":{"to":["a@example.com"]},"attachments":[{"name":"a","size":1}]}`, ""},
		{"sk-dev", "mail", "send_email", `{"message":{"to":["a@example.com"],"cc":["x@elsewhere.test"]}}`, "send_email may only write to addresses in the company's domains"},
		{"sk-temp", "mail", "send_email", `{"message":{"to":["a@example.com"]},"attachments":[{"name":"a","size":1}]}`, "send_email: this key may not send attachments"},
	}
	for _, tt := range tests {
		p := principal(t, e, tt.key)
		d := e.Decide(Request{Principal: p, Method: "tools/call", Server: tt.server, Kind: KindTool, Name: tt.tool, Arguments: json.RawMessage(tt.args)})
		if tt.msg == "" {
			if !d.Allow {
				t.Errorf("%s %s %s: %+v", tt.key, tt.tool, tt.args, d)
			}
			continue
		}
		if d.Allow || d.Hidden || d.Message != tt.msg {
			t.Errorf("%s %s %s: %+v, want %q", tt.key, tt.tool, tt.args, d, tt.msg)
		}
		// Listing asks without arguments: the tool stays visible.
		if !e.Visible(Request{Principal: p, Method: "tools/list", Server: tt.server, Kind: KindTool, Name: tt.tool}) {
			t.Errorf("%s: %s hidden from the list", tt.key, tt.tool)
		}
	}
}
