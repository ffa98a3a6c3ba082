package fastpath

import (
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/extproc/relay"
	"github.com/mcpgw/mcpgw/extproc/rpc"
	"github.com/mcpgw/mcpgw/internal/clientsession"
	"github.com/mcpgw/mcpgw/policy/identity"
)

// now is the time the tests decide at (session ids are sealed at the real
// time).
var now = time.Now()

func digest(key string) string { return identity.Hash(key).String() }

// testRoutes are a server's own endpoint ("wiki") and /mcp, where key
// sk-a may call echo with argument text only and any tool but rm on
// "files", at both protocol versions.
func testRoutes(t testing.TB, sessionKeys ...[]byte) (server, aggregate *Route) {
	t.Helper()
	sc, ac := testConfigs(sessionKeys...)
	var err error
	if server, err = sc.Compile(); err != nil {
		t.Fatal(err)
	}
	if aggregate, err = ac.Compile(); err != nil {
		t.Fatal(err)
	}
	return server, aggregate
}

// testConfigs are testRoutes's configurations.
func testConfigs(sessionKeys ...[]byte) (sc, ac RouteConfig) {
	grant := Grant{Key: "alice", Team: "docs", Org: "acme", Tools: []string{"echo", "shout"},
		Params: map[string][]string{"echo": {"text"}}, Versions: []string{"2025-11-25", ProtocolVersion}}
	files := Grant{Key: "alice", Any: true, Deny: []string{"rm"}}
	shared := RouteConfig{KeyHeader: "x-litellm-api-key", ValidUntil: now.Add(time.Hour).Unix(), SessionTTL: 3600}
	for _, k := range sessionKeys {
		shared.SessionKeys = append(shared.SessionKeys, hex.EncodeToString(k))
	}
	sc = shared
	sc.Mode, sc.Server, sc.Path, sc.Prefix = ModeServer, "wiki", "/up/mcp?x=1", "wiki-"
	sc.Grants = map[string]Grant{digest("sk-a"): grant}
	ac = shared
	ac.Mode, ac.Separator = ModeAggregate, "-"
	ac.Aliases = []string{"wiki", "files", "wiki-two"}
	ac.Servers = map[string]AggregateServer{"wiki": {Path: "/up/mcp", Grants: sc.Grants}, "files": {Path: "/files", Grants: map[string]Grant{digest("sk-a"): files}}}
	return sc, ac
}

// modern are a 2026-07-28 client's headers for a call of echo with key
// sk-a, changed by name-value pairs (an empty value removes the header).
func modern(changes ...string) Headers {
	base := [][2]string{{":method", "POST"}, {":path", "/wiki/mcp"}, {"content-type", "application/json"},
		{"mcp-protocol-version", ProtocolVersion}, {"mcp-method", "tools/call"}, {"mcp-name", "echo"}, {"x-litellm-api-key", "sk-a"}}
	return changedHeaders(base, changes...)
}

// older is the same call by a 2025-11-25 client.
func older(changes ...string) Headers {
	base := [][2]string{{":method", "POST"}, {":path", "/wiki/mcp"}, {"content-type", "application/json"},
		{"mcp-protocol-version", "2025-11-25"}, {"x-litellm-api-key", "sk-a"}}
	return changedHeaders(base, changes...)
}

func changedHeaders(base [][2]string, changes ...string) Headers {
	var h Headers
	for _, b := range base {
		h = append(h, Header{b[0], b[1]})
	}
	for i := 0; i+1 < len(changes); i += 2 {
		name, value := changes[i], changes[i+1]
		out := h[:0:0]
		for _, x := range h {
			if x.Name != name {
				out = append(out, x)
			}
		}
		if value != "" {
			out = append(out, Header{name, value})
		}
		h = out
	}
	return h
}

const echoCall = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}`

func TestDecide(t *testing.T) {
	sealer, err := clientsession.NewSealer([]string{"secret-one"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	server, aggregate := testRoutes(t, sealer.MACKeys()...)
	relaying := relayingRoute(t, sealer)
	// A session id sealed for sk-a; one for another key.
	session := sealer.New(0, digest("sk-a"))
	withCaps := sealer.New(clientsession.Capabilities(1), digest("sk-a"))
	others := sealer.New(0, digest("sk-b"))
	call := func(name, args string) string {
		return `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"` + name + `","arguments":` + args + `}}`
	}
	for _, tc := range []struct {
		name    string
		route   *Route
		headers Headers
		body    string
		want    bool   // decided in Envoy
		tool    string // the upstream's name, when decided
	}{
		{"2026-07-28 call", server, modern(), echoCall, true, "echo"},
		{"2025-11-25 call", server, older(), echoCall, true, "echo"},
		{"2025-11-25 call with its session", server, older("mcp-session-id", session), echoCall, true, "echo"},
		{"session of another key", server, older("mcp-session-id", others), echoCall, false, ""},
		{"session id forged", server, older("mcp-session-id", "mcpgw1_"+strings.Repeat("A", 54)), echoCall, false, ""},
		{"2026-07-28 with a session id", server, modern("mcp-session-id", session), echoCall, false, ""},
		{"older client with Mcp-Name", server, older("mcp-name", "echo"), echoCall, false, ""},
		{"Mcp-Name disagrees", server, modern("mcp-name", "shout"), echoCall, false, ""},
		{"Mcp-Name empty", server, withHeader(modern(), "mcp-name", ""), echoCall, false, ""},
		{"/mcp: Mcp-Name empty", aggregate, withHeader(modern(), "mcp-name", ""), call("wiki-echo", `{}`), false, ""},
		{"Mcp-Method another method", server, modern("mcp-method", "tools/list"), echoCall, false, ""},
		{"unknown key", server, modern("x-litellm-api-key", "sk-b"), echoCall, false, ""},
		{"Bearer key", server, modern("x-litellm-api-key", "Bearer sk-a"), echoCall, true, "echo"},
		{"no key", server, modern("x-litellm-api-key", ""), echoCall, false, ""},
		{"Authorization", server, modern("authorization", "Bearer x"), echoCall, false, ""},
		{"x-mcp-servers", server, modern("x-mcp-servers", "wiki"), echoCall, false, ""},
		{"query in the path", server, modern(":path", "/wiki/mcp?x=1"), echoCall, false, ""},
		{"content type", server, modern("content-type", "text/plain"), echoCall, false, ""},
		{"version not learned", server, older("mcp-protocol-version", "2025-06-18"), echoCall, false, ""},
		{"tool not granted", server, modern("mcp-name", "rm"), call("rm", `{}`), false, ""},
		{"argument not allowed", server, modern(), call("echo", `{"text":"x","loud":1}`), false, ""},
		{"argument escaped, allowed", server, modern(), call("echo", `{"t\u0065xt":"x"}`), true, "echo"},
		{"tool without a params rule", server, modern("mcp-name", "shout"), call("shout", `{"any":1}`), true, "shout"},
		{"prefixed name on the server's endpoint", server, modern("mcp-name", "wiki-echo"), call("wiki-echo", `{}`), false, ""},
		{"escaped member name", server, modern(), `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"n\u0061me":"echo"}}`, false, ""},
		{"duplicate name", server, modern(), `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","name":"rm"}}`, false, ""},
		{"result beside method", server, modern(), `{"jsonrpc":"2.0","id":7,"method":"tools/call","result":{},"params":{"name":"echo"}}`, false, ""},
		{"id a fraction", server, modern(), `{"jsonrpc":"2.0","id":1.5,"method":"tools/call","params":{"name":"echo"}}`, false, ""},
		{"notification", server, modern(), `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"echo"}}`, false, ""},
		{"arguments null", server, modern(), call("echo", `null`), false, ""},
		{"batch", server, modern(), "[" + echoCall + "]", false, ""},
		{"bad JSON", server, modern(), echoCall[:40], false, ""},
		{"/mcp: prefixed call", aggregate, modern("mcp-name", "wiki-echo"), call("wiki-echo", `{"text":"x"}`), true, "echo"},
		{"/mcp: the longest alias", aggregate, modern("mcp-name", "wiki-two-echo"), call("wiki-two-echo", `{}`), false, ""},
		{"/mcp: another server's grant", aggregate, modern("mcp-name", "files-read"), call("files-read", `{"path":"/"}`), true, "read"},
		{"/mcp: denied tool", aggregate, modern("mcp-name", "files-rm"), call("files-rm", `{}`), false, ""},
		{"/mcp: unprefixed", aggregate, modern(), echoCall, false, ""},
		{"/mcp: a session that declared capabilities, no relay key", aggregate, older("mcp-session-id", withCaps), call("wiki-echo", `{}`), false, ""},
		{"/mcp: a session that declared capabilities", relaying, older("mcp-session-id", withCaps), call("wiki-echo", `{}`), true, "echo"},
		{"/mcp: a session without capabilities, relay key", relaying, older("mcp-session-id", session), call("wiki-echo", `{}`), true, "echo"},
		{"/mcp: a session of another key, relay key", relaying, older("mcp-session-id", others), call("wiki-echo", `{}`), false, ""},
		{"server endpoint: a session that declared capabilities", server, older("mcp-session-id", withCaps), echoCall, true, "echo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d *Decision
			if p := tc.route.Headers(tc.headers, now); p != nil {
				d = p.Body([]byte(tc.body))
			}
			if (d != nil) != tc.want {
				t.Fatalf("decided %v, want %v", d != nil, tc.want)
			}
			if d == nil {
				return
			}
			if d.Tool != tc.tool || d.KeyAlias != "alice" {
				t.Errorf("decision %+v, want tool %q for alice", d, tc.tool)
			}
			// Only a client that declared capabilities gets its answer
			// relayed, on /mcp.
			if wantRelay := tc.route == relaying && tc.headers.must("mcp-session-id") == withCaps; (d.Relay() != nil) != wantRelay {
				t.Errorf("relayed %v, want %v", d.Relay() != nil, wantRelay)
			}
			if tc.route != server {
				// The name goes upstream without its prefix, the rest as
				// sent.
				msg, _, _ := rpc.Parse([]byte(tc.body))
				sent, _ := msg.ParamString("name")
				want := strings.Replace(tc.body, `"name":"`+sent+`"`, `"name":"`+tc.tool+`"`, 1)
				if string(d.Body) != want {
					t.Errorf("upstream body %s, want %s", d.Body, want)
				}
			}
		})
	}
}

// relayingRoute is testRoutes's /mcp with sealer's keys, relay key too.
func relayingRoute(t *testing.T, sealer *clientsession.Sealer) *Route {
	t.Helper()
	_, ac := testConfigs(sealer.MACKeys()...)
	ac.RelayKey = hex.EncodeToString(sealer.RelayKeys()[0])
	r, err := ac.Compile()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The module relays a call's answer with the full path's code and key: the
// ids of the upstream's requests are those the full path routes the
// client's answers by (relay.IDs with every relay key of the sealer), for
// this client session only.
func TestDecideRelay(t *testing.T) {
	sealer, err := clientsession.NewSealer([]string{"secret-one"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	relaying := relayingRoute(t, sealer)
	session := sealer.New(clientsession.Capabilities(1), digest("sk-a"))
	p := relaying.Headers(older(":path", "/mcp", "mcp-session-id", session), now)
	if p == nil {
		t.Fatal("headers not taken")
	}
	d := p.Body([]byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"wiki-echo","arguments":{}}}`))
	if d == nil || d.Relay() == nil {
		t.Fatalf("decision %+v: not relayed", d)
	}
	stream := "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"elicitation/create\",\"params\":{}}\n\n" +
		"data: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"content\":[]}}\n\n"
	r := d.Relay()
	out := append(r.Chunk([]byte(stream[:30]), false), r.Chunk([]byte(stream[30:]), true)...)
	var ids []json.RawMessage
	for _, line := range strings.Split(string(out), "\n") {
		var m struct{ ID json.RawMessage }
		if data, ok := strings.CutPrefix(line, "data: "); ok && json.Unmarshal([]byte(data), &m) == nil {
			ids = append(ids, m.ID)
		}
	}
	full := relay.NewIDs(sealer.RelayKeys())
	if len(ids) != 2 || string(ids[1]) != "7" {
		t.Fatalf("relayed stream %s", out)
	}
	if alias, raw, ok := full.Decode(session, ids[0]); !ok || alias != "wiki" || string(raw) != "3" {
		t.Fatalf("the full path reads the relayed id %s as %q %s %v", ids[0], alias, raw, ok)
	}
	if _, _, ok := full.Decode(sealer.New(clientsession.Capabilities(1), digest("sk-a")), ids[0]); ok {
		t.Fatal("a relayed id opens for another session")
	}
	if _, err := (RouteConfig{Mode: ModeAggregate, Separator: "-", KeyHeader: "k", RelayKey: "zz"}).Compile(); err == nil {
		t.Fatal("a relay key that is not hex compiles")
	}
}

func (h Headers) must(name string) string { v, _ := h.Get(name); return v }

// withHeader is base with header name set to value, even an empty one.
func withHeader(base Headers, name, value string) Headers {
	var out Headers
	for _, x := range base {
		if x.Name != name {
			out = append(out, x)
		}
	}
	return append(out, Header{name, value})
}

// Grants go stale at ValidUntil: nothing is decided after it.
func TestDecideStale(t *testing.T) {
	server, _ := testRoutes(t)
	if p := server.Headers(modern(), now.Add(2*time.Hour)); p != nil {
		t.Error("stale grants decided a call")
	}
	// An id about to expire is the full path's (it checks a moment later).
	sealer, _ := clientsession.NewSealer([]string{"s"}, time.Hour)
	server, _ = testRoutes(t, sealer.MACKeys()...)
	id := sealer.New(0, digest("sk-a"))
	issued, _, _ := clientsession.Unseal(sealer.MACKeys(), id, digest("sk-a"))
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{{issued, true}, {issued.Add(58 * time.Minute), true}, {issued.Add(59*time.Minute + time.Second), false}, {issued.Add(-time.Second), false}} {
		var d *Decision
		if p := server.Headers(older("mcp-session-id", id), tc.at); p != nil {
			d = p.Body([]byte(echoCall))
		}
		if (d != nil) != tc.want {
			t.Errorf("session aged %v: decided %v, want %v", tc.at.Sub(issued), d != nil, tc.want)
		}
	}
}

func TestIsList(t *testing.T) {
	for _, tc := range []struct {
		body string
		want bool
	}{
		{`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, true},
		{`{"jsonrpc":"2.0","id":"a","method":"prompts/list","params":{"cursor":"x"}}`, true},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":null}`, false},
		{`{"jsonrpc":"2.0","method":"tools/list"}`, false},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call"}`, false},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/list","Method":"x"}`, false},
		{`[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]`, false},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":"` + strings.Repeat("x", maxListBody) + `"}}`, false},
	} {
		if got := IsList([]byte(tc.body)); got != tc.want {
			t.Errorf("IsList(%.60s) = %v, want %v", tc.body, got, tc.want)
		}
	}
}

// An upstream answer no MCP client can read becomes the full path's 502,
// with the call's id.
func TestUnreadableAnswerReply(t *testing.T) {
	d := &Decision{Server: "wiki", ID: `"a<1>"`}
	body := d.UnreadableAnswer(200, "text/html; charset=utf-8")
	want := rpc.UnreadableAnswerError("wiki", 200, "text/html").Response(json.RawMessage(`"a<1>"`))
	if string(body) != string(want) || !strings.Contains(string(body), `"id":"a\u003c1\u003e"`) {
		t.Errorf("reply %s, want %s", body, want)
	}
	if d.UnreadableAnswer(200, "application/json") != nil || d.UnreadableAnswer(404, "text/html") != nil {
		t.Error("a readable answer, or a 4xx, was replaced")
	}
}

// FuzzDecide feeds bodies and header values a client chooses: nothing
// panics, and whatever the fast path decides, the full path's parser
// reads as the same call of a granted tool with allowed arguments.
func FuzzDecide(f *testing.F) {
	for _, s := range []string{echoCall, `{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"wiki-echo","arguments":{"text":1}}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"rm"}}`, `[1]`, `{"a":`} {
		f.Add([]byte(s), "echo", "sk-a", "")
	}
	f.Fuzz(func(t *testing.T, body []byte, mcpName, key, session string) {
		server, aggregate := testRoutes(t)
		for _, r := range []*Route{server, aggregate} {
			for _, h := range []Headers{modern("mcp-name", mcpName, "x-litellm-api-key", key), older("x-litellm-api-key", key, "mcp-session-id", session)} {
				p := r.Headers(h, now)
				if p == nil {
					continue
				}
				d := p.Body(body)
				if d == nil {
					continue
				}
				sent := body
				if d.Body != nil {
					sent = d.Body
				}
				msg, batch, err := rpc.Parse(sent)
				if err != nil || batch || msg.Method != "tools/call" {
					t.Fatalf("decided %q, which the full path reads as %v", body, err)
				}
				name, _ := msg.ParamString("name")
				if name != d.Tool || (d.Tool != "echo" && d.Tool != "shout" && d.Server != "files") || d.Tool == "rm" {
					t.Fatalf("decided %q as %+v; the upstream reads tool %q", body, d, name)
				}
				if names, _ := rpc.ArgumentNames(msg.ParamRaw("arguments")); d.Tool == "echo" {
					for _, n := range names {
						if n != "text" {
							t.Fatalf("decided %q with argument %q", body, n)
						}
					}
				}
			}
		}
	})
}
