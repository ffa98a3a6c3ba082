package router

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/policy"
	"github.com/mcpgw/mcpgw/policy/identity"
	"github.com/mcpgw/mcpgw/upstreams"
)

// fakeAuthz knows three keys: "admin", "alice" (may use demo's echo only)
// and, when open is set, nobody needs a key. Calls with an argument "x"
// are refused with a message.
type fakeAuthz struct {
	open   bool
	header string
	asked  []policy.Request
}

func (f *fakeAuthz) Authenticate(h func(string) string) (*identity.Principal, error) {
	if f.open {
		return identity.Anonymous(), nil
	}
	header := f.header
	if header == "" {
		header = identity.DefaultHeader
	}
	raw := h(header)
	key, _ := identity.KeyFromHeader(raw)
	switch key {
	case "admin":
		return &identity.Principal{ID: identity.MasterID, Admin: true}, nil
	case "alice":
		return &identity.Principal{ID: "alice"}, nil
	case "nobody":
		return &identity.Principal{ID: "nobody"}, nil // may use no server
	case "":
		return nil, &identity.AuthError{Reason: identity.ReasonMissing, Header: header}
	}
	return nil, &identity.AuthError{Reason: identity.ReasonUnknown, Header: header}
}

func (f *fakeAuthz) Decide(req policy.Request) policy.Decision {
	f.asked = append(f.asked, req)
	if strings.Contains(string(req.Arguments), `"x"`) {
		return policy.Decision{Message: "Parameters ['x'] are not allowed"}
	}
	if strings.Contains(string(req.Arguments), `"many"`) {
		return policy.Decision{Invalid: true, Message: "invalid params: too many"}
	}
	if f.Visible(req) {
		return policy.Decision{Allow: true}
	}
	return policy.Decision{Hidden: true, Message: "Access denied"}
}

func (f *fakeAuthz) Visible(req policy.Request) bool {
	p := req.Principal
	if p.Admin || p.Anonymous {
		return req.Name != "secret"
	}
	return p.ID != "nobody" && req.Server == "demo" && (req.Name == "" || req.Name == "echo")
}

func authRouter(t *testing.T, a Authorizer) *Router {
	t.Helper()
	mk := func(alias string) *upstreams.Upstream {
		u, _ := url.Parse("http://127.0.0.1:9/mcp")
		return &upstreams.Upstream{Alias: alias, Transport: upstreams.TransportHTTP, URL: u, Cluster: upstreams.ClusterName(alias)}
	}
	names, err := namespace.NewRegistry([]string{"demo", "hr"}, "-", namespace.WithAccessGroups(map[string][]string{"people": {"hr"}}))
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(names, []*upstreams.Upstream{mk("demo"), mk("hr")}, 4096, WithAuthorizer(a))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type rpcReply struct {
	ID    json.RawMessage
	Error struct {
		Code    int
		Message string
	}
}

func decode(t *testing.T, r *Reply) rpcReply {
	t.Helper()
	var out rpcReply
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("reply is not JSON-RPC: %s", r.Body)
	}
	return out
}

func replyHeader(r *Reply, name string) string {
	for _, h := range r.Headers {
		if h.Name == name {
			return h.Value
		}
	}
	return ""
}

func TestDecideHeadersAuthentication(t *testing.T) {
	r := authRouter(t, &fakeAuthz{})
	tests := []struct {
		name      string
		headers   Headers
		status    int // 0: forwarded
		msg       string
		challenge string
	}{
		{"no key", Headers{":method": "POST", ":path": "/mcp"}, 401, "send a gateway key in the x-litellm-api-key header", `ApiKey realm="mcpgw", header="x-litellm-api-key"`},
		{"bad key", Headers{":method": "POST", ":path": "/mcp", "x-litellm-api-key": "Bearer nope"}, 401, "invalid gateway key", `ApiKey realm="mcpgw", header="x-litellm-api-key"`},
		{"authorization is not the key", Headers{":method": "POST", ":path": "/mcp", "authorization": "Bearer alice"}, 401, "Authentication required", ""},
		{"no key, unknown server: 401 first", Headers{":method": "POST", ":path": "/mcp/nosuch"}, 401, "Authentication required", ""},
		{"key, aggregate", Headers{":method": "POST", ":path": "/mcp", "x-litellm-api-key": "alice"}, 0, "", ""},
		{"key, permitted server", Headers{":method": "POST", ":path": "/demo/mcp", "x-litellm-api-key": "alice"}, 0, "", ""},
		{"key, forbidden server", Headers{":method": "POST", ":path": "/hr/mcp", "x-litellm-api-key": "alice"}, 403, "Access denied: this key may not use the MCP servers of this endpoint", ""},
		{"key, forbidden group", Headers{":method": "POST", ":path": "/mcp/people", "x-litellm-api-key": "alice"}, 403, "Access denied: this key may not use the MCP servers of this endpoint", ""},
		{"key, forbidden header scope", Headers{":method": "POST", ":path": "/mcp", "x-mcp-servers": "hr", "x-litellm-api-key": "alice"}, 403, "Access denied: this key may not use", ""},
		{"key, unknown server: same 403", Headers{":method": "POST", ":path": "/mcp/nosuch", "x-litellm-api-key": "alice"}, 403, "Access denied: this key may not use the MCP servers of this endpoint", ""},
		{"key, mixed scope", Headers{":method": "POST", ":path": "/mcp/demo,hr", "x-litellm-api-key": "alice"}, 0, "", ""},
		{"key, unknown name skipped", Headers{":method": "POST", ":path": "/mcp/demo,nosuch/tools", "x-litellm-api-key": "alice"}, 0, "", ""},
		// Unknown names are skipped; a list naming every server (plus
		// guesses) must not pass unchecked, or 200-vs-403 would tell a key
		// that may use nothing which servers exist.
		{"key without servers, list of every server and a guess", Headers{":method": "POST", ":path": "/mcp/demo,hr,guess", "x-litellm-api-key": "nobody"}, 403, "Access denied: this key may not use the MCP servers of this endpoint", ""},
		{"key without servers, header of every server", Headers{":method": "POST", ":path": "/mcp", "x-mcp-servers": "demo,hr,local", "x-litellm-api-key": "nobody"}, 403, "Access denied: this key may not use", ""},
		{"key without servers, whole aggregate", Headers{":method": "POST", ":path": "/mcp", "x-litellm-api-key": "nobody"}, 0, "", ""},
		{"key, only unknown names: same 403", Headers{":method": "POST", ":path": "/mcp/nosuch,hr_x/tools", "x-litellm-api-key": "alice"}, 403, "Access denied: this key may not use the MCP servers of this endpoint", ""},
		{"key, empty servers header", Headers{":method": "POST", ":path": "/mcp", "x-mcp-servers": "", "x-litellm-api-key": "alice"}, 0, "", ""},
		{"admin sees unknown servers as unknown", Headers{":method": "POST", ":path": "/mcp/nosuch", "x-litellm-api-key": "admin"}, 404, `unknown MCP server or access group \"nosuch\"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := r.DecideHeaders(tt.headers)
			if tt.status == 0 {
				if d.Reply != nil {
					t.Fatalf("reply %d %s", d.Reply.Status, d.Reply.Body)
				}
				return
			}
			if d.Reply == nil || d.Reply.Status != tt.status || !strings.Contains(string(d.Reply.Body), tt.msg) {
				t.Fatalf("got %+v, want %d %q", d.Reply, tt.status, tt.msg)
			}
			if tt.challenge != "" && replyHeader(d.Reply, "www-authenticate") != tt.challenge {
				t.Fatalf("WWW-Authenticate = %q", replyHeader(d.Reply, "www-authenticate"))
			}
			if tt.status == 403 && strings.Contains(string(d.Reply.Body), "hr") {
				t.Fatalf("403 names a server: %s", d.Reply.Body)
			}
		})
	}
}

func TestBearerChallengeWhenKeysUseAuthorization(t *testing.T) {
	r := authRouter(t, &fakeAuthz{header: "authorization"})
	d := r.DecideHeaders(Headers{":method": "POST", ":path": "/mcp"})
	if got := replyHeader(d.Reply, "www-authenticate"); got != `Bearer realm="mcpgw"` {
		t.Errorf("missing: %q", got)
	}
	d = r.DecideHeaders(Headers{":method": "POST", ":path": "/mcp", "authorization": "Bearer wrong"})
	if got := replyHeader(d.Reply, "www-authenticate"); got != `Bearer realm="mcpgw", error="invalid_token"` {
		t.Errorf("invalid: %q", got)
	}
}

func TestRoutedCallsAreAuthorized(t *testing.T) {
	call := func(name, args string) []byte {
		return []byte(`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"` + name + `","arguments":` + args + `}}`)
	}
	tests := []struct {
		name   string
		open   bool
		key    string
		body   []byte
		status int // 0: routed
		code   int
		msg    string
	}{
		{"allowed", false, "alice", call("demo-echo", `{"text":"hi"}`), 0, 0, ""},
		{"hidden tool, restricted key", false, "alice", call("demo-add", `{}`), 403, -32043, "Access denied: tool demo-add is not available to this key"},
		{"forbidden server, restricted key", false, "alice", call("hr-list", `{}`), 403, -32043, "Access denied: tool hr-list is not available to this key"},
		{"unknown server, restricted key: same answer", false, "alice", call("nosuch-list", `{}`), 403, -32043, "Access denied: tool nosuch-list is not available to this key"},
		{"policy message", false, "alice", call("demo-echo", `{"x":1}`), 403, -32043, "Parameters ['x'] are not allowed"},
		{"master key, hidden tool: unknown", false, "admin", call("demo-secret", `{}`), 200, -32602, "Unknown tool: demo-secret"},
		{"master key, unknown server", false, "admin", call("nosuch-list", `{}`), 200, -32602, "Unknown tool: nosuch-list"},
		{"open gateway, hidden tool", true, "", call("demo-secret", `{}`), 200, -32602, "Unknown tool: demo-secret"},
		{"open gateway, params", true, "", call("demo-echo", `{"x":1}`), 403, -32043, "Parameters ['x'] are not allowed"},
		{"arguments the policy cannot take", false, "alice", call("demo-echo", `{"many":1}`), 400, -32602, "invalid params: too many"},
		{"open gateway, allowed", true, "", call("hr-list", `{}`), 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fa := &fakeAuthz{open: tt.open}
			r := authRouter(t, fa)
			h := Headers{":method": "POST", ":path": "/mcp"}
			if tt.key != "" {
				h["x-litellm-api-key"] = tt.key
			}
			d := r.decideBody(h, tt.body)
			if tt.status == 0 {
				if d.Reply != nil || d.Call == nil {
					t.Fatalf("not routed: %+v", d.Reply)
				}
				last := fa.asked[len(fa.asked)-1]
				if last.Server == "" || last.Kind != policy.KindTool || !json.Valid(last.Arguments) || last.Method != "tools/call" {
					t.Fatalf("asked %+v", last)
				}
				return
			}
			if d.Reply == nil || d.Reply.Status != tt.status {
				t.Fatalf("got %+v", d.Reply)
			}
			got := decode(t, d.Reply)
			if got.Error.Code != tt.code || got.Error.Message != tt.msg && !strings.Contains(got.Error.Message, tt.msg) || string(got.ID) != "5" {
				t.Fatalf("got %s", d.Reply.Body)
			}
		})
	}
}

func TestRoutedCallWithoutKey(t *testing.T) {
	r := authRouter(t, &fakeAuthz{})
	d := r.decideBody(Headers{":method": "POST", ":path": "/mcp"}, []byte(`{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"demo-echo"}}`))
	if d.Reply == nil || d.Reply.Status != 401 || decode(t, d.Reply).Error.Code != -32041 || string(decode(t, d.Reply).ID) != `"a"` {
		t.Fatalf("got %+v", d.Reply)
	}
}

// countingAuthz counts authentications.
type countingAuthz struct {
	fakeAuthz
	n int
}

func (c *countingAuthz) Authenticate(h func(string) string) (*identity.Principal, error) {
	c.n++
	return c.fakeAuthz.Authenticate(h)
}

// The body phase decides on what the headers phase learned: one
// authentication, one session check and one scope per request.
func TestHeadersPhaseCarriesTheCaller(t *testing.T) {
	a := &countingAuthz{}
	r := authRouter(t, a)
	h := Headers{":method": "POST", ":path": "/mcp", identity.DefaultHeader: "alice"}
	hd := r.DecideHeaders(h)
	if hd.Reply != nil || hd.Caller == nil || hd.Caller.Principal.ID != "alice" {
		t.Fatalf("headers phase: %+v", hd)
	}
	d := r.DecideBody(h, hd.Caller, []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo-echo"}}`))
	if d.Call == nil {
		t.Fatalf("not routed: %+v", d.Reply)
	}
	if a.n != 1 {
		t.Fatalf("%d authentications for one request, want 1", a.n)
	}
}
