package router

import (
	"strings"
	"testing"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// TestREST: the facade's requests get the MCP endpoints' checks in the
// router and then go to the sidecar; nothing passes without a valid key.
func TestREST(t *testing.T) {
	r := authRouter(t, &fakeAuthz{})
	for _, c := range []struct {
		name, method, path, key string
		status                  int    // 0: sent to the sidecar
		body                    string // part of the reply
		header                  string // a reply header, "name: value"
	}{
		{name: "list", method: "GET", path: "/mcp-rest/tools/list", key: "alice"},
		{name: "list with a query", method: "GET", path: "/mcp-rest/tools/list?server_id=demo&format=openai", key: "alice"},
		{name: "call", method: "POST", path: "/mcp-rest/tools/call", key: "alice"},
		{name: "connection test by the admin", method: "POST", path: "/mcp-rest/test/connection", key: "admin"},
		{name: "no key", method: "GET", path: "/mcp-rest/tools/list", status: 401,
			body:   `{"error":{"code":"401","message":"Authentication required: send a gateway key in the x-litellm-api-key header","param":"None","type":"auth_error"}}`,
			header: `www-authenticate: ApiKey realm="mcpgw", header="x-litellm-api-key"`},
		{name: "unknown key", method: "POST", path: "/mcp-rest/tools/call", key: "mallory", status: 401, body: "Authentication failed: invalid gateway key"},
		{name: "connection test by a restricted key", method: "POST", path: "/mcp-rest/test/connection", key: "alice", status: 403,
			body: `{"detail":{"error":"User does not have permission to test MCP server connections. Only PROXY_ADMIN users can perform this action."}}`},
		{name: "connection test without a key", method: "POST", path: "/mcp-rest/test/connection", status: 401},
		{name: "wrong method", method: "POST", path: "/mcp-rest/tools/list", key: "alice", status: 405, body: `{"detail":"Method Not Allowed"}`, header: "allow: GET"},
		{name: "the key twice", method: "GET", path: "/mcp-rest/tools/list", key: "alice, alice", status: 400, body: `header \"x-litellm-api-key\" is sent more than once`},
		{name: "unknown endpoint, before the key", method: "GET", path: "/mcp-rest/servers", status: 404, body: `{"detail":"Not Found"}`},
		{name: "a browser origin not allowed", method: "GET", path: "/mcp-rest/tools/list", key: "alice", status: 403, body: "Origin not allowed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := Headers{":method": c.method, ":path": c.path}
			if c.key != "" {
				h["x-litellm-api-key"] = c.key
			}
			if strings.Contains(c.name, "origin") {
				h["origin"] = "https://evil.example"
			}
			d := r.DecideHeaders(h)
			if c.status == 0 {
				if d.Reply != nil {
					t.Fatalf("answered %d %s", d.Reply.Status, d.Reply.Body)
				}
				if v, _ := header(d, wellknown.RouteHeader); v != wellknown.SidecarCluster || !d.ClearRoute {
					t.Fatalf("not sent to the sidecar: %+v", d)
				}
				// The body is the sidecar's: never parsed as JSON-RPC.
				if bd := r.DecideBody(h, nil, []byte(`{"server_id":"demo","name":"echo"}`)); bd.Reply != nil {
					t.Fatalf("body answered %d %s", bd.Reply.Status, bd.Reply.Body)
				}
				return
			}
			if d.Reply == nil || d.Reply.Status != c.status || !strings.Contains(string(d.Reply.Body), c.body) {
				t.Fatalf("got %+v, want %d %s", d.Reply, c.status, c.body)
			}
			if c.header != "" {
				name, value, _ := strings.Cut(c.header, ": ")
				found := false
				for _, hd := range d.Reply.Headers {
					found = found || (hd.Name == name && hd.Value == value)
				}
				if !found {
					t.Errorf("reply headers %v lack %s", d.Reply.Headers, c.header)
				}
			}
		})
	}
	// A server named mcp-rest keeps its MCP endpoint.
	if d := testRouter(t).DecideHeaders(Headers{":method": "POST", ":path": "/mcp-rest/mcp"}); d.Reply == nil || !strings.Contains(string(d.Reply.Body), "unknown MCP server") {
		t.Errorf("/mcp-rest/mcp was taken for the REST facade: %+v", d.Reply)
	}
	// Over the body limit, like any request.
	if d := r.DecideBody(Headers{":method": "POST", ":path": "/mcp-rest/tools/call"}, nil, make([]byte, 5000)); d.Reply == nil || d.Reply.Status != 413 {
		t.Errorf("a body over the limit: %+v", d.Reply)
	}
}
