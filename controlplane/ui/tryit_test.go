package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeGateway answers /mcp as the gateway does for the Try-it client:
// 401 for a key other than userKey, a session from initialize, echo's
// result (as an event stream), and a 403 JSON-RPC error for "wiki-denied".
type fakeGateway struct {
	mu      sync.Mutex
	methods []string
}

func (g *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.methods = append(g.methods, r.Method)
	g.mu.Unlock()
	if r.Header.Get("x-litellm-api-key") != "Bearer "+userKey {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Invalid proxy server token passed. <b>bad</b>"}}`)
		return
	}
	if r.Method == http.MethodDelete {
		return
	}
	var req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params struct {
			Name      string         `json:"name"`
			Arguments map[string]any `json:"arguments"`
		} `json:"params"`
	}
	json.NewDecoder(r.Body).Decode(&req)
	g.mu.Lock()
	g.methods = append(g.methods, req.Method)
	g.mu.Unlock()
	switch {
	case req.Method == "initialize":
		w.Header().Set("Mcp-Session-Id", "s-1")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"gw","version":"1"}}}`, req.ID)
	case req.ID == nil:
		w.WriteHeader(http.StatusAccepted)
	case r.Header.Get("Mcp-Session-Id") != "s-1":
		http.Error(w, "no session", http.StatusBadRequest)
	case req.Params.Name == "wiki-plain":
		// Not JSON-RPC (as an Envoy error page is).
		http.Error(w, "upstream connect error <x>", http.StatusServiceUnavailable)
	case req.Params.Name == "wiki-denied":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32043,"message":"Parameters ['limit'] are not allowed <script>x</script>"}}`, req.ID)
	default:
		args, _ := json.Marshal(req.Params.Arguments)
		res, _ := json.Marshal(map[string]any{"content": []any{map[string]any{"type": "text", "text": "echo " + string(args) + " " + xss}}})
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\n")
		fmt.Fprintf(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":%s}\n\n", req.ID, res)
	}
}

// tryEnv is a signed-in UI whose Try-it page calls a fakeGateway and
// whose KeyTools gives userKey wiki-search (with an XSS payload).
func tryEnv(t *testing.T) (*env, string, *fakeGateway) {
	t.Helper()
	g := &fakeGateway{}
	gw := httptest.NewServer(g)
	t.Cleanup(gw.Close)
	e := newEnvWith(t, func(o *Options) {
		o.GatewayURL = gw.URL
		o.KeyTools = func(_ context.Context, token string) ([]json.RawMessage, error) {
			if token != keyToken(userKey) {
				return nil, errors.New("the key is not valid")
			}
			b, _ := json.Marshal(map[string]any{"name": "wiki-search", "description": xss,
				"inputSchema": map[string]any{"type": "object", "required": []string{"q"}, "properties": map[string]any{
					"q":                            map[string]any{"type": "string", "description": xss},
					"limit":                        map[string]any{"type": "integer"},
					"exact":                        map[string]any{"type": "boolean"},
					"tags":                         map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
					"mode":                         map[string]any{"enum": []string{"fast", "deep"}},
					`x"><script>alert(3)</script>`: map[string]any{"type": "object"},
				}}})
			return []json.RawMessage{b}, nil
		}
	})
	return e, e.signedIn(), g
}

func TestTryItKey(t *testing.T) {
	e, csrf, _ := tryEnv(t)
	_, page := e.do("GET", "/ui/tryit", nil)
	if !strings.Contains(page, `id="try-key" name="key" type="password"`) {
		t.Fatalf("no key field:\n%s", page)
	}
	for _, form := range []url.Values{{"key": {userKey}}, {"key": {userKey}, "csrf": {"forged"}}} {
		if resp, _ := e.do("POST", "/ui/tryit/key", form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST /ui/tryit/key with csrf %q: %d, want 403", form.Get("csrf"), resp.StatusCode)
		}
	}
	if resp, _ := e.do("POST", "/ui/tryit", url.Values{"tool": {"wiki-search"}, "arg.q": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST /ui/tryit without csrf: %d, want 403", resp.StatusCode)
	}
	resp, _ := e.do("POST", "/ui/tryit/key", url.Values{"csrf": {csrf}, "key": {"Bearer " + userKey}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/tryit" || strings.Contains(resp.Header.Get("Location"), userKey) {
		t.Fatalf("setting the key: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = e.do("GET", "/ui/tryit", nil)
	if strings.Contains(page, userKey) {
		t.Errorf("the page shows the key")
	}
	if !strings.Contains(page, maskKey(userKey)) || !strings.Contains(page, `href="/ui/tryit?tool=wiki-search"`) {
		t.Errorf("the masked key and the key's tool:\n%s", page)
	}
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") {
		t.Errorf("a tool description is not escaped:\n%s", page)
	}
	for _, bad := range []string{"", "  ", "sk-a b", "sk-a\x01", strings.Repeat("k", 2000)} {
		if resp, page := e.do("POST", "/ui/tryit/key", url.Values{"csrf": {csrf}, "key": {bad}}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Enter a gateway key") && !strings.Contains(page, "That is not a gateway key") {
			t.Errorf("key %.10q: %d", bad, resp.StatusCode)
		}
	}
	// Another key: the gateway's refusal.
	e.do("POST", "/ui/tryit/key", url.Values{"csrf": {csrf}, "forget": {"1"}})
	if _, page = e.do("GET", "/ui/tryit", nil); !strings.Contains(page, `id="try-key"`) {
		t.Errorf("the key is not forgotten")
	}
	e.do("POST", "/ui/tryit/key", url.Values{"csrf": {csrf}, "key": {"sk-not-a-key-000000"}})
	if _, page = e.do("GET", "/ui/tryit", nil); !strings.Contains(page, "The gateway refuses this key (clients get 401): the key is not valid") {
		t.Errorf("a refused key:\n%s", page)
	}
}

func TestTryItForm(t *testing.T) {
	e, csrf, _ := tryEnv(t)
	e.do("POST", "/ui/tryit/key", url.Values{"csrf": {csrf}, "key": {userKey}})
	_, page := e.do("GET", "/ui/tryit?tool=wiki-search", nil)
	for _, want := range []string{
		`<select id="arg-1" name="arg.exact">`, // booleans and enums are selects
		`<option value="fast">fast</option>`,
		`<input id="arg-2" name="arg.limit" value="" inputmode="numeric">`,
		`<input id="arg-0" name="arg.q" value="">`, // required first
		`<textarea id="arg-4" name="arg.tags" rows="3">`,
		`name="arg.x&#34;&gt;&lt;script&gt;alert(3)&lt;/script&gt;"`, // a hostile name stays in its attribute
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the form lacks %s", want)
		}
	}
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") {
		t.Errorf("upstream text is not escaped:\n%s", page)
	}
	if t.Failed() {
		t.Log(page)
	}
}

func TestTryItRun(t *testing.T) {
	e, csrf, g := tryEnv(t)
	e.do("POST", "/ui/tryit/key", url.Values{"csrf": {csrf}, "key": {userKey}})
	for _, c := range []struct {
		name   string
		form   url.Values
		status int
		want   []string
	}{
		{"fields", url.Values{"tool": {"wiki-search"}, "arg.q": {"sun"}, "arg.limit": {"3"}, "arg.exact": {"true"}, "arg.tags": {"a\nb"}, "arg.mode": {"deep"}},
			http.StatusOK, []string{`HTTP 200 OK`, `echo {&#34;exact&#34;:true,&#34;limit&#34;:3,&#34;mode&#34;:&#34;deep&#34;,&#34;q&#34;:&#34;sun&#34;,&#34;tags&#34;:[&#34;a&#34;,&#34;b&#34;]}`, `&lt;script&gt;alert(2)&lt;/script&gt;`}},
		{"raw JSON", url.Values{"tool": {"wiki-search"}, "raw_args": {`{"q": "moon"}`}},
			http.StatusOK, []string{`echo {&#34;q&#34;:&#34;moon&#34;}`}},
		{"a bad integer", url.Values{"tool": {"wiki-search"}, "arg.q": {"x"}, "arg.limit": {"two"}},
			http.StatusBadRequest, []string{"must be a whole number"}},
		{"a missing required field", url.Values{"tool": {"wiki-search"}},
			http.StatusBadRequest, []string{"required"}},
		{"raw JSON not an object", url.Values{"tool": {"wiki-search"}, "raw_args": {`[1]`}},
			http.StatusBadRequest, []string{"the arguments must be a JSON object"}},
		{"not JSON-RPC", url.Values{"tool": {"wiki-plain"}, "raw_args": {`{}`}},
			http.StatusOK, []string{`HTTP 503 Service Unavailable`, `data-testid="body">upstream connect error &lt;x&gt;</pre>`}},
		{"refused", url.Values{"tool": {"wiki-denied"}, "raw_args": {`{"limit": 1}`}},
			http.StatusOK, []string{`HTTP 403 Forbidden`, `JSON-RPC error <code>-32043</code>: Parameters [&#39;limit&#39;] are not allowed &lt;script&gt;x&lt;/script&gt;`, "does not show this tool"}},
	} {
		c.form.Set("csrf", csrf)
		resp, page := e.do("POST", "/ui/tryit", c.form)
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.status)
		}
		for _, w := range c.want {
			if !strings.Contains(page, w) {
				t.Errorf("%s: the page lacks %s\n%s", c.name, w, page)
			}
		}
		if strings.Contains(page, userKey) || strings.Contains(page, "<script>") {
			t.Errorf("%s: the key or a script in the page", c.name)
		}
	}
	g.mu.Lock()
	got := strings.Join(g.methods, " ")
	g.mu.Unlock()
	if !strings.HasPrefix(got, "POST initialize POST notifications/initialized POST tools/call DELETE") {
		t.Errorf("the client's requests: %s", got)
	}

	// A key the gateway refuses: its 401 on initialize, as a client gets it.
	e.do("POST", "/ui/tryit/key", url.Values{"csrf": {csrf}, "key": {"sk-revoked-0000000000"}})
	_, page := e.do("POST", "/ui/tryit", url.Values{"csrf": {csrf}, "tool": {"wiki-search"}, "raw_args": {`{}`}})
	if !strings.Contains(page, "HTTP 401 Unauthorized") || !strings.Contains(page, "on initialize") ||
		!strings.Contains(page, html.EscapeString("Invalid proxy server token passed. <b>bad</b>")) {
		t.Errorf("a refused key's call:\n%s", page)
	}
}

func TestTryItUnreachable(t *testing.T) {
	e := newEnvWith(t, func(o *Options) { o.GatewayURL = "http://127.0.0.1:1/" })
	csrf := e.signedIn()
	e.do("POST", "/ui/tryit/key", url.Values{"csrf": {csrf}, "key": {userKey}})
	_, page := e.do("POST", "/ui/tryit", url.Values{"csrf": {csrf}, "tool": {"any"}, "raw_args": {`{}`}})
	if !strings.Contains(page, "the gateway could not be reached: dial: ") || strings.Contains(page, "127.0.0.1:1") {
		t.Errorf("an unreachable gateway:\n%s", page)
	}
}

// An answer that redirects (an upstream's 3xx passed on by Envoy) is
// shown, not followed: the key header would go to the named host.
func TestTryItNoRedirect(t *testing.T) {
	var leaked atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("x-litellm-api-key"), userKey) {
			leaked.Add(1)
		}
	}))
	defer elsewhere.Close()
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/collect", http.StatusTemporaryRedirect)
	}))
	defer gw.Close()
	for _, c := range []struct {
		name   string
		client *http.Client
	}{{"the default client", nil}, {"the gateway's client", &http.Client{}}} {
		e := newEnvWith(t, func(o *Options) { o.GatewayURL, o.GatewayClient = gw.URL, c.client })
		csrf := e.signedIn()
		e.do("POST", "/ui/tryit/key", url.Values{"csrf": {csrf}, "key": {userKey}})
		_, page := e.do("POST", "/ui/tryit", url.Values{"csrf": {csrf}, "tool": {"any"}, "raw_args": {`{}`}})
		if !strings.Contains(page, "HTTP 307") {
			t.Errorf("%s: the redirect is not shown:\n%s", c.name, page)
		}
	}
	if n := leaked.Load(); n > 0 {
		t.Errorf("the Try-it key reached the redirect's host %d times", n)
	}
}

func TestTryItUnavailable(t *testing.T) {
	e := newEnv(t)
	e.signedIn()
	if _, page := e.do("GET", "/ui/tryit", nil); !strings.Contains(page, "Try it is not available") {
		t.Errorf("without the gateway's address:\n%s", page)
	}
}

func TestSchemaFields(t *testing.T) {
	for _, c := range []struct {
		schema string
		ok     bool
		kinds  string // name:kind, in order
	}{
		{`{"type":"object","properties":{"a":{"type":"string"},"b":{"type":["integer","null"]},"c":{"type":"array","items":{"type":"number"}}},"required":["c"]}`, true, "c:json a:string b:integer"},
		{`{"properties":{"e":{"enum":["x",1]},"f":{"enum":["x","y"]},"g":{"type":"array","items":{"type":"string"}},"h":{"type":"boolean"}}}`, true, "e:json f:enum g:strings h:boolean"},
		{`{"type":"object"}`, true, ""},
		{`{"type":"array"}`, false, ""},
		{`{"type":["object"]}`, false, ""},
		{`[]`, false, ""},
		{``, false, ""},
		{`{"properties":{"n":"not an object"}}`, true, "n:json"},
	} {
		fields, ok := schemaFields(json.RawMessage(c.schema))
		var got []string
		for _, f := range fields {
			got = append(got, f.Name+":"+f.Kind)
		}
		if ok != c.ok || strings.Join(got, " ") != c.kinds {
			t.Errorf("%s: %v %q, want %v %q", c.schema, ok, strings.Join(got, " "), c.ok, c.kinds)
		}
	}
}

func TestBuildArgs(t *testing.T) {
	fields, _ := schemaFields(json.RawMessage(`{"properties":{"s":{"type":"string"},"n":{"type":"number"},"o":{"type":"object"},"b":{"type":"boolean"}}}`))
	for _, c := range []struct {
		form url.Values
		want string // "" : refused
	}{
		{url.Values{"arg.s": {" x "}, "arg.n": {"1.5"}, "arg.o": {`{"k":[1]}`}, "arg.b": {"false"}}, `{"b":false,"n":1.5,"o":{"k":[1]},"s":" x "}`},
		{url.Values{}, `{}`},
		{url.Values{"arg.n": {"1e400x"}}, ""},
		{url.Values{"arg.o": {`{`}}, ""},
		{url.Values{"arg.b": {"yes"}}, ""},
		{url.Values{"raw_args": {`{"any": "thing"}`}, "arg.n": {"bad"}}, `{"any": "thing"}`},
		{url.Values{"raw_args": {`null`}}, ""},
	} {
		fs := append([]argField(nil), fields...)
		args, _, ok := buildArgs(fs, c.form)
		if (c.want == "") == ok || (ok && string(args) != c.want) {
			t.Errorf("%v: %s %v, want %s", c.form, args, ok, c.want)
		}
	}
}

func FuzzSchemaForm(f *testing.F) {
	f.Add(`{"type":"object","properties":{"a":{"type":"string"},"b":{"enum":["x"]}},"required":["a"]}`, "v")
	f.Add(`{"properties":{"t":{"type":["integer","null"],"default":3}}}`, "12")
	f.Fuzz(func(t *testing.T, schema, value string) {
		fields, _ := schemaFields(json.RawMessage(schema))
		form := url.Values{}
		for _, fl := range fields {
			form.Set(argPrefix+fl.Name, value)
		}
		if args, _, ok := buildArgs(fields, form); ok && !json.Valid(args) {
			t.Fatalf("invalid arguments %s from %s", args, schema)
		}
	})
}

// FuzzReadRPC: whatever the gateway answers (a body passed on from an
// upstream), reading it neither panics nor returns a response of
// another id.
func FuzzReadRPC(f *testing.F) {
	f.Add("application/json", `{"jsonrpc":"2.0","id":2,"result":{"content":[]}}`)
	f.Add("text/event-stream", "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-1,\"message\":\"x\"}}\n\n")
	f.Add("text/event-stream", "data: {\"id\":3,\"result\":{}}\n\ndata: {\"id\":null,\"error\":{\"code\":1,\"message\":\"m\"}}\n")
	f.Add("text/plain", "upstream connect error")
	f.Fuzz(func(t *testing.T, ctype, body string) {
		resp := &http.Response{Header: http.Header{"Content-Type": {ctype}}, Body: io.NopCloser(strings.NewReader(body))}
		msg, _, err := readRPC(resp, 2)
		if err == nil && msg == nil {
			t.Fatal("no message and no error")
		}
		if msg != nil {
			if id := string(msg.ID); id != "2" && !(msg.Error != nil && (id == "" || id == "null")) {
				t.Fatalf("a response with id %s", id)
			}
		}
	})
}

// A key with 150 tools: 100 a page, and a search.
func TestTryItManyTools(t *testing.T) {
	e := newEnvWith(t, func(o *Options) {
		o.GatewayURL = "http://127.0.0.1:1"
		o.KeyTools = func(context.Context, string) ([]json.RawMessage, error) {
			var out []json.RawMessage
			for i := range 150 {
				b, _ := json.Marshal(map[string]any{"name": fmt.Sprintf("wiki-t%03d", i), "description": "tool"})
				out = append(out, b)
			}
			return out, nil
		}
	})
	csrf := e.signedIn()
	e.do("POST", "/ui/tryit/key", url.Values{"csrf": {csrf}, "key": {userKey}})
	for _, c := range []struct {
		query     string
		rows      int
		want, not string
	}{
		{"", 100, "Page 1 of 2 (150 rows)", "wiki-t100"},
		{"?page=2", 50, "Page 2 of 2 (150 rows)", "wiki-t099"},
		{"?q=t149", 1, `<tr data-tool="wiki-t149">`, "wiki-t148"},
		{"?q=nothing", 0, "No tool matches the search.", "sees no tool"},
	} {
		_, page := e.do("GET", "/ui/tryit"+c.query, nil)
		if n := strings.Count(page, "<tr data-tool="); n != c.rows || !strings.Contains(page, c.want) || strings.Contains(page, c.not) {
			t.Errorf("%s: %d rows, want %d with %q and no %q", c.query, n, c.rows, c.want, c.not)
		}
		if !strings.Contains(page, "Tools this key sees (150)") {
			t.Errorf("%s: no count", c.query)
		}
	}
}
