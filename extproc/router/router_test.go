package router

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/internal/wellknown"
	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/credentials"
)

func testRouter(t testing.TB) *Router {
	t.Helper()
	mk := func(alias, raw string, tr upstreams.Transport) *upstreams.Upstream {
		u, _ := url.Parse(raw)
		return &upstreams.Upstream{Alias: alias, Transport: tr, URL: u, Cluster: upstreams.ClusterName(alias)}
	}
	ups := []*upstreams.Upstream{
		mk("demo", "http://127.0.0.1:9004/mcp", upstreams.TransportHTTP),
		mk("my_wiki", "https://wiki.example.com/api/v1/mcp?tenant=a", upstreams.TransportHTTP),
		mk("local", "", upstreams.TransportStdio),
	}
	ups[1].Credentials = credentials.Server{Scheme: credentials.SchemeBearer, Auth: map[string]string{"Authorization": "Bearer s3cret"}}
	names, err := namespace.NewRegistry([]string{"demo", "my_wiki", "local"}, "-")
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(names, ups, 1024)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func header(d Decision, name string) (string, bool) {
	for _, h := range d.SetHeaders {
		if h.Name == name {
			return h.Value, true
		}
	}
	return "", false
}

func TestDecideHeaders(t *testing.T) {
	r := testRouter(t)
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int // 0: forwarded
		endSession string
	}{
		{"post mcp", "POST", "/mcp", 0, ""},
		{"trailing slash", "POST", "/mcp/", 0, ""},
		{"query", "GET", "/mcp?x=1", 0, ""},
		{"delete ends session", "DELETE", "/mcp", 0, "sess-1"},
		{"root", "POST", "/", 404, ""},
		{"server list", "POST", "/mcp/demo,my_wiki", 0, ""},
		{"single server", "POST", "/demo/mcp", 0, ""},
		{"unknown server", "POST", "/mcp/nope", 404, ""},
		{"empty server name", "POST", "/mcp/demo,", 400, ""},
		{"other", "POST", "/mcpx", 404, ""},
		{"path after the server list", "POST", "/mcp/demo,my_wiki/tools", 0, ""},
		{"unknown name skipped", "POST", "/mcp/demo,nope", 0, ""},
		{"only unknown names", "POST", "/mcp/nope,zilch/tools", 404, ""},
		{"traversal", "POST", "/mcp/../admin", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := r.DecideHeaders(Headers{":method": tt.method, ":path": tt.path, "mcp-session-id": "sess-1", wellknown.RouteHeader: "mcp_upstream_demo"})
			if tt.wantStatus != 0 {
				if d.Reply == nil || d.Reply.Status != tt.wantStatus {
					t.Fatalf("want reply %d, got %+v", tt.wantStatus, d)
				}
				if !json.Valid(d.Reply.Body) {
					t.Fatalf("reply body not JSON: %s", d.Reply.Body)
				}
				return
			}
			if d.Reply != nil {
				t.Fatalf("unexpected reply %s", d.Reply.Body)
			}
			if v, _ := header(d, wellknown.RouteHeader); v != wellknown.SidecarCluster || !d.ClearRoute {
				t.Fatalf("forged route header not overwritten: %+v", d)
			}
			if d.EndSession != tt.endSession {
				t.Fatalf("EndSession = %q", d.EndSession)
			}
		})
	}
}

// TestRepeatedCredentialHeaders: a credential header sent twice (joined
// by Envoy or by the adapter) is refused with 400 naming it, before
// anything reads it; a DELETE too, which would end a session.
func TestRepeatedCredentialHeaders(t *testing.T) {
	r := testRouter(t)
	for _, tt := range []struct {
		header, value string
		refused       bool
	}{
		{"authorization", "Bearer a,Bearer b", true},
		{"authorization", "Bearer a", false},
		{"x-litellm-api-key", "sk-1, sk-2", true},
		{"x-mcp-auth", "m1, m2", true},
		{"x-mcp-my_wiki-authorization", "Bearer a, Bearer b", true},
		{"accept", "application/json, text/event-stream", false},
	} {
		for _, method := range []string{"POST", "DELETE"} {
			d := r.DecideHeaders(Headers{":method": method, ":path": "/mcp", tt.header: tt.value})
			if !tt.refused {
				if d.Reply != nil {
					t.Errorf("%s %s: %q refused: %s", method, tt.header, tt.value, d.Reply.Body)
				}
				continue
			}
			if d.Reply == nil || d.Reply.Status != 400 || d.EndSession != "" {
				t.Fatalf("%s %s: %q not refused: %+v", method, tt.header, tt.value, d)
			}
			var resp struct {
				Error struct {
					Code    int
					Message string
				}
			}
			json.Unmarshal(d.Reply.Body, &resp)
			if resp.Error.Code != -32600 || !strings.Contains(resp.Error.Message, `"`+tt.header+`"`) || strings.Contains(resp.Error.Message, tt.value) {
				t.Errorf("%s %s: reply %s; want -32600 naming the header, never its value", method, tt.header, d.Reply.Body)
			}
		}
	}
}

func TestDecideBodyToolCall(t *testing.T) {
	r := testRouter(t)
	body := `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"my_wiki-read-page","arguments":{"page":"x"}}}`
	d := r.decideBody(Headers{":method": "POST", ":path": "/mcp", "mcp-session-id": "gw-1", "mcp-protocol-version": "2025-06-18", "mcp-name": "my_wiki-read-page"}, []byte(body))
	if d.Reply != nil {
		t.Fatalf("unexpected reply %s", d.Reply.Body)
	}
	var got struct {
		ID     int
		Params struct {
			Name      string
			Arguments map[string]string
		}
	}
	if err := json.Unmarshal(d.Body, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != 3 || got.Params.Name != "read-page" || got.Params.Arguments["page"] != "x" {
		t.Fatalf("body = %s", d.Body)
	}
	want := map[string]string{
		wellknown.RouteHeader: "mcp_upstream_my_wiki",
		":path":               "/api/v1/mcp?tenant=a",
		"content-length":      itoa(len(d.Body)),
		"mcp-name":            "read-page",
		"authorization":       "Bearer s3cret",
	}
	for k, v := range want {
		if g, _ := header(d, k); g != v {
			t.Errorf("header %s = %q, want %q", k, g, v)
		}
	}
	if !d.ClearRoute || d.Call == nil || d.Call.ClientSession != "gw-1" || d.Call.Upstream.Alias != "my_wiki" || d.Call.ProtocolVersion != "2025-06-18" {
		t.Fatalf("decision = %+v call = %+v", d, d.Call)
	}
	if len(d.RemoveHeaders) != 1 || d.RemoveHeaders[0] != "mcp-session-id" {
		t.Fatalf("client session header must not reach the upstream: %v", d.RemoveHeaders)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestDecideBodyErrors(t *testing.T) {
	r := testRouter(t)
	tests := []struct {
		name    string
		body    string
		headers Headers
		status  int
		code    int
		msg     string
		id      string
	}{
		{"malformed", `{"jsonrpc":"2.0",`, nil, 400, -32700, "parse error", "null"},
		{"not jsonrpc", `{"hello":"world"}`, nil, 400, -32600, "invalid request", "null"},
		{"unknown prefix", `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"nope-echo"}}`, nil, 200, -32602, "Unknown tool: nope-echo", "9"},
		{"unprefixed", `{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"echo"}}`, nil, 200, -32602, "Unknown tool: echo", `"a"`},
		{"no name", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}`, nil, 200, -32602, `"name"`, "1"},
		{"2026 status", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x-y"}}`,
			Headers{"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "x-y"}, 400, -32602, "Unknown tool", "1"},
		// 2026-07-28's Mcp-Method and Mcp-Name must say what the body
		// does (go-sdk's words): the gateway rewrites Mcp-Name upstream,
		// so a mismatch would pass unseen.
		{"2026 no Mcp-Method", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo-echo"}}`,
			Headers{"mcp-protocol-version": "2026-07-28", "mcp-name": "demo-echo"}, 400, -32020, "missing required Mcp-Method header", "1"},
		{"2026 Mcp-Method another", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo-echo"}}`,
			Headers{"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/list", "mcp-name": "demo-echo"}, 400, -32020,
			"header mismatch: Mcp-Method header value 'tools/list' does not match body value 'tools/call'", "1"},
		{"2026 no Mcp-Name", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo-echo"}}`,
			Headers{"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call"}, 400, -32020, `missing required Mcp-Name header for method "tools/call"`, "1"},
		{"2026 Mcp-Name another tool", `{"jsonrpc":"2.0","id":"s","method":"tools/call","params":{"name":"demo-echo"}}`,
			Headers{"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "demo-add"}, 400, -32020,
			"header mismatch: Mcp-Name header value 'demo-add' does not match body value 'demo-echo'", `"s"`},
		{"2026 Mcp-Name unprefixed", `{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"demo-greet"}}`,
			Headers{"mcp-protocol-version": "2026-07-28", "mcp-method": "prompts/get", "mcp-name": "greet"}, 400, -32020, "Mcp-Name header value 'greet'", "1"},
		{"2026 Mcp-Name another URI", `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"mcpgw://demo/a"}}`,
			Headers{"mcp-protocol-version": "2026-07-28", "mcp-method": "resources/read", "mcp-name": "mcpgw://demo/b"}, 400, -32020, "Mcp-Name header value 'mcpgw://demo/b'", "1"},
		{"too large", `{"jsonrpc":"2.0","id":1,"method":"ping","pad":"` + strings.Repeat("x", 1100) + `"}`, nil, 413, -32600, "too large", "null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := Headers{":method": "POST", ":path": "/mcp"}
			for k, v := range tt.headers {
				h[k] = v
			}
			d := r.decideBody(h, []byte(tt.body))
			if d.Reply == nil {
				t.Fatalf("no reply: %+v", d)
			}
			var resp struct {
				JSONRPC string
				ID      json.RawMessage
				Error   struct {
					Code    int
					Message string
				}
			}
			if err := json.Unmarshal(d.Reply.Body, &resp); err != nil {
				t.Fatal(err)
			}
			if d.Reply.Status != tt.status || resp.Error.Code != tt.code || !strings.Contains(resp.Error.Message, tt.msg) || string(resp.ID) != tt.id || resp.JSONRPC != "2.0" {
				t.Fatalf("got %d %s", d.Reply.Status, d.Reply.Body)
			}
		})
	}
}

func TestDecideBodyPassThrough(t *testing.T) {
	r := testRouter(t)
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":1,"result":{}}`,
		`[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"local-echo"}}`, // stdio: sidecar serves it
	} {
		d := r.decideBody(Headers{":method": "POST", ":path": "/mcp"}, []byte(body))
		if d.Reply != nil || d.Body != nil || d.Call != nil || len(d.SetHeaders) != 0 {
			t.Errorf("%s: want pass-through to the sidecar, got %+v", body, d)
		}
	}
}

func TestDecideResponse(t *testing.T) {
	call := &Call{ClientSession: "gw-1"}
	d := DecideResponse(call, "200", "application/json")
	if len(d.SetHeaders) != 1 || d.SetHeaders[0] != (Header{"mcp-session-id", "gw-1"}) || d.EvictUpstreamSession {
		t.Fatalf("got %+v", d)
	}
	if d := DecideResponse(&Call{}, "400", "application/json"); d.EvictUpstreamSession {
		t.Fatal("a call without an upstream session evicted one on a 400")
	}
	d = DecideResponse(&Call{UpstreamSession: "up-1"}, "404", "application/json")
	if len(d.RemoveHeaders) != 1 || !d.EvictUpstreamSession {
		t.Fatalf("got %+v", d)
	}
	if d := DecideResponse(nil, "404", "application/json"); d.EvictUpstreamSession || len(d.SetHeaders) != 0 {
		t.Fatalf("sidecar responses are untouched: %+v", d)
	}
}

func FuzzDecideBody(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo-echo","arguments":{}}}`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo-"}}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":3,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"demo-p"},"argument":{"name":"a","value":"b"}}}`))
	routed := testRouter(f)
	f.Add([]byte(`{"jsonrpc":"2.0","id":` + string(routed.relayIDs.Encode("s", "demo", []byte(`7`))) + `,"result":{}}`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":4,"method":"resources/read","params":{"uri":"mcpgw://demo/x://y"}}`))
	r, _ := New(mustRegistry(), nil, 4096)
	f.Fuzz(func(t *testing.T, body []byte) {
		d := r.decideBody(Headers{":method": "POST"}, body)
		if d.Reply != nil && (d.Reply.Status >= 500 || !json.Valid(d.Reply.Body)) {
			t.Fatalf("bad reply %d %s", d.Reply.Status, d.Reply.Body)
		}
		for _, path := range []string{"/mcp", "/demo/mcp", "/mcp/demo,my_wiki"} {
			d := routed.decideBody(Headers{":method": "POST", ":path": path, "mcp-session-id": "s"}, body)
			if d.Reply != nil && (d.Reply.Status >= 500 || !json.Valid(d.Reply.Body)) {
				t.Fatalf("%s: bad reply %d %s", path, d.Reply.Status, d.Reply.Body)
			}
			if d.Call != nil && d.Body != nil && !json.Valid(d.Body) {
				t.Fatalf("%s: routed body is not JSON: %s", path, d.Body)
			}
		}
	})
}

func mustRegistry() *namespace.Registry {
	r, _ := namespace.NewRegistry([]string{"demo"}, "-")
	return r
}

func TestScopedRouting(t *testing.T) {
	r := testRouter(t)
	r.upstreams["demo"].DisallowedTools = []string{"secret"}
	r.upstreams["my_wiki"].AllowedTools = []string{"read-page"}
	call := func(method, name string) string {
		return `{"jsonrpc":"2.0","id":1,"method":"` + method + `","params":{"name":"` + name + `"}}`
	}
	tests := []struct {
		name     string
		path     string
		headers  Headers
		body     string
		upstream string // "" means an error reply
		sent     string // name the upstream receives
	}{
		{"aggregate prefixed", "/mcp", nil, call("tools/call", "demo-echo"), "demo", "echo"},
		{"server list in scope", "/mcp/demo", nil, call("tools/call", "demo-echo"), "demo", "echo"},
		{"server list out of scope", "/mcp/demo", nil, call("tools/call", "my_wiki-read-page"), "", ""},
		{"header narrows", "/mcp", Headers{"x-mcp-servers": "my_wiki"}, call("tools/call", "demo-echo"), "", ""},
		{"header in scope", "/mcp", Headers{"x-mcp-servers": "my_wiki"}, call("tools/call", "my_wiki-read-page"), "my_wiki", "read-page"},
		{"header unknown name skipped", "/mcp", Headers{"x-mcp-servers": "nope,my_wiki"}, call("tools/call", "my_wiki-read-page"), "my_wiki", "read-page"},
		{"path after the list", "/mcp/demo,my_wiki/tools", nil, call("tools/call", "my_wiki-read-page"), "my_wiki", "read-page"},
		{"path after the list narrows", "/mcp/my_wiki/tools", nil, call("tools/call", "demo-echo"), "", ""},
		{"unknown name in the path skipped", "/mcp/demo,nope", nil, call("tools/call", "demo-echo"), "demo", "echo"},
		{"single unprefixed", "/demo/mcp", nil, call("tools/call", "echo"), "demo", "echo"},
		{"single prefixed accepted", "/demo/mcp", nil, call("tools/call", "demo-echo"), "demo", "echo"},
		{"single keeps other prefixes", "/demo/mcp", nil, call("tools/call", "my_wiki-x"), "demo", "my_wiki-x"},
		{"disallowed tool", "/mcp", nil, call("tools/call", "demo-secret"), "", ""},
		{"disallowed on single", "/demo/mcp", nil, call("tools/call", "secret"), "", ""},
		{"allowed list hides others", "/mcp", nil, call("tools/call", "my_wiki-delete-page"), "", ""},
		{"prompt", "/mcp", nil, call("prompts/get", "demo-greet"), "demo", "greet"},
		{"prompt filter is tools only", "/mcp", nil, call("prompts/get", "demo-secret"), "demo", "secret"},
		{"unknown prompt", "/mcp", nil, call("prompts/get", "greet"), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := Headers{":method": "POST", ":path": tt.path}
			for k, v := range tt.headers {
				h[k] = v
			}
			d := r.decideBody(h, []byte(tt.body))
			if tt.upstream == "" {
				if d.Reply == nil || d.Reply.Status != 200 || !strings.Contains(string(d.Reply.Body), "Unknown") {
					t.Fatalf("want Unknown error, got %+v", d)
				}
				return
			}
			if d.Call == nil || d.Call.Upstream.Alias != tt.upstream || d.Call.Name != tt.sent {
				t.Fatalf("got call %+v reply %+v", d.Call, d.Reply)
			}
			if !strings.Contains(string(d.Body), `"name":"`+tt.sent+`"`) {
				t.Fatalf("body %s", d.Body)
			}
		})
	}
}

// An empty x-mcp-servers header means no servers (fail closed), not
// every server: its calls are refused, naming the header.
func TestEmptyServersHeaderFailsClosed(t *testing.T) {
	r := testRouter(t)
	for _, tt := range []struct {
		name    string
		headers Headers
		body    string
	}{
		{"tools/call", Headers{"x-mcp-servers": ""}, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo-echo"}}`},
		{"blank", Headers{"x-mcp-servers": "  "}, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo-echo"}}`},
		{"groups header", Headers{"x-mcp-access-groups": ""}, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo-echo"}}`},
		{"prompts/get", Headers{"x-mcp-servers": ""}, `{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"demo-greet"}}`},
		{"resources/read", Headers{"x-mcp-servers": ""}, `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"mcpgw://demo/x"}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := Headers{":method": "POST", ":path": "/mcp"}
			for k, v := range tt.headers {
				h[k] = v
			}
			if d := r.DecideHeaders(h); d.Reply != nil {
				t.Fatalf("headers phase answered %d %s; want the request to reach the sidecar (empty lists)", d.Reply.Status, d.Reply.Body)
			}
			d := r.decideBody(h, []byte(tt.body))
			if d.Call != nil || d.Reply == nil || !strings.Contains(string(d.Reply.Body), "No MCP servers in scope: the request's x-mcp-servers or x-mcp-access-groups header is empty") {
				t.Fatalf("got call %+v reply %+v", d.Call, d.Reply)
			}
		})
	}
}

func TestRoutedCallsNeedAGatewaySession(t *testing.T) {
	r := testRouter(t)
	WithSessionCheck(func(id, _ string) (uint8, error) {
		if id == "good" {
			return 5, nil
		}
		return 0, errors.New("unknown")
	})(r)
	body := []byte(`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"demo-echo"}}`)
	for _, tt := range []struct {
		session string
		routed  bool
	}{{"good", true}, {"", true}, {"forged", false}} {
		d := r.decideBody(Headers{":method": "POST", ":path": "/mcp", "mcp-session-id": tt.session}, body)
		if d.Call != nil && tt.session == "good" && d.Call.ClientCapabilities != 5 {
			t.Errorf("client capabilities from the session id: %d", d.Call.ClientCapabilities)
		}
		if (d.Call != nil) != tt.routed {
			t.Errorf("session %q: routed=%v", tt.session, d.Call != nil)
		}
		if !tt.routed && (d.Reply.Status != 404 || !strings.Contains(string(d.Reply.Body), `"code":-32001`) || !strings.Contains(string(d.Reply.Body), `"id":4`)) {
			t.Errorf("session %q: reply %d %s", tt.session, d.Reply.Status, d.Reply.Body)
		}
	}
}

// Legacy HTTP+SSE clients get their answers on their event stream, which
// the sidecar holds: nothing they send is routed past it.
func TestLegacySSEIsServedBySidecar(t *testing.T) {
	r := testRouter(t)
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo-echo"}}`)
	for _, path := range []string{"/sse?sessionid=x", "/demo/sse?sessionid=x", "/mcp/demo/sse"} {
		d := r.decideBody(Headers{":method": "POST", ":path": path}, body)
		if d.Reply != nil || d.Call != nil || d.Body != nil {
			t.Errorf("%s: want the sidecar, got %+v", path, d)
		}
		if h := r.DecideHeaders(Headers{":path": path, ":method": "GET"}); h.Reply != nil {
			t.Errorf("%s: headers phase refused: %s", path, h.Reply.Body)
		}
	}
}

// A batch (2025-03-26) that carries a routed request is refused: its call
// would run in the sidecar, not on the caller's upstream session with the
// caller's credentials. Other batches stay with the sidecar.
func TestBatches(t *testing.T) {
	r := testRouter(t)
	h := Headers{":method": "POST", ":path": "/mcp", "mcp-protocol-version": "2025-03-26"}
	for _, tc := range []struct {
		body, want string
	}{
		{`[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo-echo"}}]`, "may not carry tools/call"},
		{`[{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"x"}}]`, "may not carry resources/read"},
		{`[]`, "empty batch"},
		{`[[{"jsonrpc":"2.0","id":1,"method":"ping"}]]`, "batch may not contain a batch"},
		{`[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":1,"Method":"tools/call"}]`, "differs from one only in case"},
		{`[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"}]`, ""},
	} {
		d := r.decideBody(h, []byte(tc.body))
		switch {
		case tc.want == "" && (d.Reply != nil || d.Call != nil):
			t.Errorf("%s: want the sidecar, got %+v", tc.body, d)
		case tc.want != "" && (d.Reply == nil || d.Reply.Status != 400 || !strings.Contains(string(d.Reply.Body), tc.want)):
			t.Errorf("%s: got %+v, want 400 %q", tc.body, d.Reply, tc.want)
		}
	}
}
