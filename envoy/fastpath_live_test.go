package envoy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/mcpgw/mcpgw/envoy/decisionlog"
	"github.com/mcpgw/mcpgw/internal/clientsession"
	"github.com/mcpgw/mcpgw/internal/testutil"
	"github.com/mcpgw/mcpgw/internal/wellknown"
	"github.com/mcpgw/mcpgw/upstreams"
)

// fastUpstream records what reached it and answers like an MCP server;
// a call of the tool "html" gets an HTML error page, one of "ask" an
// event stream with a request to the client in it (askStream).
type fastUpstream struct {
	mu   sync.Mutex
	seen []*seenRequest
}

func (u *fastUpstream) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	u.mu.Lock()
	u.seen = append(u.seen, &seenRequest{req.Method, req.URL.RequestURI(), req.Host, req.Header.Clone(), string(body)})
	u.mu.Unlock()
	w.Header().Set("mcp-session-id", "upstream-session")
	w.Header().Set("x-upstream-own", "up")
	switch {
	case strings.Contains(string(body), `"name":"html_empty"`):
		// An unreadable answer with no body at all.
		w.Header().Set("content-type", "text/html")
		w.Header().Set("content-length", "0")
		w.WriteHeader(http.StatusOK)
		return
	case strings.Contains(string(body), `"name":"html_big"`):
		// One larger than Envoy buffers.
		w.Header().Set("content-type", "text/html")
		w.WriteHeader(http.StatusInternalServerError)
		chunk := strings.Repeat("<p>oops</p>", 1000)
		for range 300 {
			fmt.Fprint(w, chunk)
		}
		return
	}
	if strings.Contains(string(body), `"name":"fast-ask"`) || strings.Contains(string(body), `"name":"ask"`) {
		// In pieces that do not follow lines, as Envoy may see them.
		w.Header().Set("content-type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		for i := 0; i < len(askStream); i += 40 {
			fmt.Fprint(w, askStream[i:min(i+40, len(askStream))])
			w.(http.Flusher).Flush()
		}
		return
	}
	if strings.Contains(string(body), `"name":"html"`) {
		w.Header().Set("content-type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, "<html>oops</html>")
		return
	}
	w.Header().Set("content-type", "application/json")
	fmt.Fprint(w, `{"jsonrpc":"2.0","id":1,"result":{"content":[]}}`)
}

// askStream is the event stream a call of "ask" gets: a notification,
// a request to the client (elicitation, id 3), the upstream's
// cancellation of it, the result.
const askStream = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}\n\n" +
	"event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"elicitation/create\",\"params\":{\"message\":\"name?\"}}\nid: e1\n\n" +
	"data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":3}}\n\n" +
	"event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"content\":[]}}\n\n"

func (u *fastUpstream) take() []*seenRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.seen
	u.seen = nil
	return s
}

func digestOf(key string) string {
	d := sha256.Sum256([]byte(key))
	return hex.EncodeToString(d[:])
}

// fastPathEnvoy is an Envoy 1.40 with the fast path's filters and routes
// for two servers, "fast" and "fast2" (upstreams up and up2), and a test
// ext_proc service that only routes (to the same upstream, leaving the
// path alone).
type fastPathEnvoy struct {
	p    Params
	base string
	up   *fastUpstream
	srv  *upstreams.Upstream
	// up2 is the upstream of a second server, "fast2", on the same
	// upstream path as "fast".
	up2 *fastUpstream
	// sidecar records the last request the sidecar got.
	sidecar *recorder
}

func startFastPathEnvoy(t *testing.T, grants map[string]FastPathGrant, validUntil time.Time, als *testAccessLog) *fastPathEnvoy {
	t.Helper()
	return startFastPathEnvoyWith(t, grants, validUntil, als, nil)
}

// startFastPathEnvoyWith is startFastPathEnvoy with its FastPath changed
// by change first (when not nil).
func startFastPathEnvoyWith(t *testing.T, grants map[string]FastPathGrant, validUntil time.Time, als *testAccessLog, change func(*FastPath)) *fastPathEnvoy {
	t.Helper()
	testutil.EnvoyBin(t)
	up := &fastUpstream{}
	upSrv := httptest.NewServer(up)
	t.Cleanup(upSrv.Close)
	sidecar := &recorder{name: "sidecar"}
	sidecarSrv := httptest.NewServer(sidecar)
	t.Cleanup(sidecarSrv.Close)
	srv := upstream(t, "fast", upSrv.URL+"/upstream/mcp")
	// A second server on another upstream with the same path: the fast
	// route must pick the server decided for, not the path.
	up2 := &fastUpstream{}
	up2Srv := httptest.NewServer(up2)
	t.Cleanup(up2Srv.Close)
	srv2 := upstream(t, "fast2", up2Srv.URL+"/upstream/mcp")
	proc := &testProcessor{defaultCluster: srv.Cluster}
	if als != nil {
		proc.accessLog = als
	}
	procAddr, _ := proc.serve(t)
	p := Params{
		ListenAddress:       "127.0.0.1",
		ListenPort:          testutil.FreePort(t),
		AdminAddress:        "127.0.0.1",
		AdminPort:           testutil.FreePort(t),
		ExtProcAddress:      procAddr,
		SidecarAddress:      sidecarSrv.Listener.Addr().String(),
		Upstreams:           []*upstreams.Upstream{srv, srv2},
		MaxRequestBodyBytes: 64 << 10,
		FastPath: &FastPath{
			KeyHeader:  "x-litellm-api-key",
			Separator:  "-",
			Servers:    []FastPathServer{{Alias: "fast", Grants: grants}, {Alias: "fast2", Grants: grants}},
			ValidUntil: validUntil,
		},
	}
	if engineOf(t) == engineModule {
		p.FastPath.Module = testutil.FastPathModule(t)
	}
	if change != nil {
		change(p.FastPath)
	}
	startEnvoy(t, p)
	return &fastPathEnvoy{p: p, base: fmt.Sprintf("http://127.0.0.1:%d", p.ListenPort), up: up, srv: srv, up2: up2, sidecar: sidecar}
}

// fastPathHeaders are what a 2026-07-28 client sends with a tools/call
// of echo, key sk-a.
func fastPathHeaders() map[string]string {
	return map[string]string{
		"content-type":         "application/json",
		"accept":               "application/json, text/event-stream",
		"mcp-protocol-version": "2026-07-28",
		"mcp-method":           "tools/call",
		"mcp-name":             "echo",
		"x-litellm-api-key":    "sk-a",
	}
}

// changed is a copy of headers with changes, name-value pairs, made (an
// empty value removes the header).
func changed(headers map[string]string, changes ...string) map[string]string {
	h := maps.Clone(headers)
	for i := 0; i+1 < len(changes); i += 2 {
		if changes[i+1] == "" {
			delete(h, changes[i])
		} else {
			h[changes[i]] = changes[i+1]
		}
	}
	return h
}

// fastCall is what one request through a fastPathEnvoy came to.
type fastCall struct {
	status int
	header http.Header
	body   string
	// fast: Envoy decided it (ext_proc never saw the answer).
	fast bool
	// seen is what the upstream received (nil: nothing, or more than once).
	seen *seenRequest
}

// send POSTs body to path with headers and reports what happened.
func (e *fastPathEnvoy) send(t *testing.T, path, body string, headers map[string]string) fastCall {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	c := fastCall{status: resp.StatusCode, header: resp.Header, body: string(b), fast: resp.Header.Get("x-test-ext-proc") == ""}
	if seen := e.up.take(); len(seen) == 1 {
		c.seen = seen[0]
	}
	return c
}

// TestFastPathLive runs Envoy 1.40 with the fast path's filters and
// routes and a test ext_proc service (which only routes, to the same
// upstream, leaving the path alone): each request must take the fast path
// exactly when everything it carries is plain and the key's grant allows
// the call. A request the fast path took reaches the upstream on the
// upstream's own path with ext_proc never consulted; any other reaches it
// on the endpoint's path, through ext_proc.
func TestFastPathLive(t *testing.T) { forEachEngine(t, testFastPathLive) }

func testFastPathLive(t *testing.T) {
	// Keys of lengths around SHA-256's block edges: 55 and 56 bytes (one
	// or two blocks of padding), 64, and 100.
	long := map[string]string{}
	for _, n := range []int{55, 56, 64, 100} {
		long[fmt.Sprint(n)] = strings.Repeat("k", n)
	}
	grants := map[string]FastPathGrant{
		digestOf("sk-a"):    {KeyAlias: "alice", Team: "docs", Org: "acme", Tools: []string{"echo", "html"}, Params: map[string][]string{"echo": {"text", "n"}}},
		digestOf("sk-open"): {AnyTool: true, Deny: []string{"bad"}},
	}
	for _, k := range long {
		grants[digestOf(k)] = FastPathGrant{AnyTool: true}
	}
	als := &testAccessLog{}
	env := startFastPathEnvoy(t, grants, time.Now().Add(time.Hour), als)
	p, base, up, up2, srv := env.p, env.base, env.up, env.up2, env.srv
	client := &http.Client{Timeout: 5 * time.Second}

	const call = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi","n":1}}}`
	std := fastPathHeaders()
	with := func(changes ...string) map[string]string { return changed(std, changes...) }

	tests := []struct {
		name    string
		path    string // "" = /fast/mcp
		headers map[string]string
		body    string
		fast    bool
	}{
		{"allowed", "", std, call, true},
		{"allowed on /mcp", "/mcp", with("mcp-name", "fast-echo"), strings.Replace(call, `"echo"`, `"fast-echo"`, 1), true},
		{"/mcp, no prefix", "/mcp", std, call, false},
		{"/mcp, a name of 256 bytes", "/mcp", with("x-litellm-api-key", "sk-open", "mcp-name", "fast-"+strings.Repeat("t", 251)),
			strings.Replace(call, `"echo"`, `"fast-`+strings.Repeat("t", 251)+`"`, 1), true},
		// Longer names are the full path's: a name of separators would
		// cost the split one lookup each.
		{"/mcp, a name of 257 bytes", "/mcp", with("x-litellm-api-key", "sk-open", "mcp-name", "fast-"+strings.Repeat("t", 252)),
			strings.Replace(call, `"echo"`, `"fast-`+strings.Repeat("t", 252)+`"`, 1), false},
		{"/mcp, a name of 30,000 separators", "/mcp", with("x-litellm-api-key", "sk-open", "mcp-name", "fast"+strings.Repeat("-", 30000)+"x"),
			strings.Replace(call, `"echo"`, `"fast`+strings.Repeat("-", 30000)+`x"`, 1), false},
		{"/mcp/fast (a narrowed scope)", "/mcp/fast", with("mcp-name", "fast-echo"), strings.Replace(call, `"echo"`, `"fast-echo"`, 1), false},
		{"string id", "", std, strings.Replace(call, `"id":7`, `"id":"a-1"`, 1), true},
		{"no arguments", "", std, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}`, true},
		{"open grant", "", with("x-litellm-api-key", "sk-open", "mcp-name", "other"), strings.Replace(call, `"echo"`, `"other"`, 1), true},
		// What go-sdk sends at 2026-07-28: names repeat inside _meta and
		// inside argument values, which the decision does not read.
		{"client _meta", "", std, `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/clientInfo":{"name":"e2e","version":"1"},"io.modelcontextprotocol/protocolVersion":"2026-07-28"},"name":"echo","arguments":{"text":"{\"name\":\"x\",\"id\":1}","n":{"name":"nested","Name":2}}}}`, true},
		{"spaces and newlines", "", std, "{\n  \"jsonrpc\": \"2.0\",\n  \"id\": 7,\n  \"method\": \"tools/call\",\n  \"params\": { \"name\": \"echo\", \"arguments\": { \"text\": \"hi\" } }\n}\n", true},
		{"key 55 bytes", "", with("x-litellm-api-key", long["55"]), call, true},
		{"key 56 bytes", "", with("x-litellm-api-key", long["56"]), call, true},
		{"key 64 bytes", "", with("x-litellm-api-key", long["64"]), call, true},
		{"key 100 bytes", "", with("x-litellm-api-key", long["100"]), call, true},

		{"unknown key", "", with("x-litellm-api-key", "sk-b"), call, false},
		{"no key", "", with("x-litellm-api-key", ""), call, false},
		{"bearer key", "", with("x-litellm-api-key", "Bearer sk-a"), call, true},
		{"bearer key, any case", "", with("x-litellm-api-key", "bEARER \t sk-a"), call, true},
		{"bearer, no key", "", with("x-litellm-api-key", "Bearer"), call, false},
		{"key with a space", "", with("x-litellm-api-key", "sk-a x"), call, false},
		{"basic key", "", with("x-litellm-api-key", "Basic sk-a"), call, false},
		{"tool not granted", "", with("mcp-name", "other"), strings.Replace(call, `"echo"`, `"other"`, 1), false},
		{"tool denied", "", with("x-litellm-api-key", "sk-open", "mcp-name", "bad"), strings.Replace(call, `"echo"`, `"bad"`, 1), false},
		{"argument not allowed", "", std, strings.Replace(call, `"n":1`, `"x":1`, 1), false},
		{"argument case variant", "", std, strings.Replace(call, `"n":1`, `"N":1`, 1), false},
		// Envoy's MCP filter leaves arrays (and more) out of its metadata:
		// argument names are read from the body itself.
		{"argument not allowed, an array", "", std, strings.Replace(call, `"n":1`, `"x":[1,2]`, 1), false},
		{"argument not allowed, an empty object", "", std, strings.Replace(call, `"n":1`, `"x":{}`, 1), false},
		{"argument not allowed, null", "", std, strings.Replace(call, `"n":1`, `"x":null`, 1), false},
		{"argument not allowed, escaped", "", std, strings.Replace(call, `"n":1`, `"\u0078":1`, 1), false},
		{"arguments an array", "", std, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":[]}}`, false},
		{"duplicate name", "", std, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"other"}}`, false},
		// The same name twice is the same name to the policy: allowed
		// both ways, and the upstream gets the body as sent either way.
		{"duplicate argument", "", std, strings.Replace(call, `"n":1`, `"n":1,"n":2`, 1), true},
		{"duplicate argument, one not allowed", "", std, strings.Replace(call, `"n":1`, `"n":1,"x":2,"n":2`, 1), false},
		{"name case variant", "", std, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"Name":"echo"}}`, false},
		{"escaped member", "", std, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"n\u0061me":"echo"}}`, false},
		{"long s folds to s", "", std, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","argumentſ":{}}}`, false},
		{"mcp-name disagrees", "", with("mcp-name", "other"), call, false},
		{"mcp-method disagrees", "", std, strings.Replace(call, "tools/call", "prompts/get", 1), false},
		{"older protocol", "", with("mcp-protocol-version", "2025-11-25"), call, false},
		{"session id", "", with("mcp-session-id", "abc"), call, false},
		{"scope header", "", with("x-mcp-servers", "fast"), call, false},
		{"per-server credential", "", with("x-mcp-fast-authorization", "Bearer t"), call, false},
		{"forged route header", "", with("x-mcp-cluster", srv.Cluster), call, false},
		{"authorization", "", with("authorization", "Bearer t"), call, false},
		{"origin", "", with("origin", "http://evil.example"), call, false},
		{"param header", "", with("mcp-param-text", "hi"), call, false},
		{"prefixed name", "", with("mcp-name", "fast-echo"), strings.Replace(call, `"echo"`, `"fast-echo"`, 1), false},
		{"bad json", "", std, `{"jsonrpc":"2.0","id":1,`, false},
		{"trailing garbage", "", std, call + ` x`, false},
		{"bad literal in arguments", "", std, strings.Replace(call, `"n":1`, `"n":tru`, 1), false},
		{"id case variant", "", std, strings.Replace(call, `"id":7`, `"ID":7`, 1), false},
		{"duplicate id", "", std, strings.Replace(call, `"id":7`, `"id":7,"id":8`, 1), false},
		{"duplicate params", "", std, strings.Replace(call, `"params"`, `"params":{},"params"`, 1), false},
		{"escaped tool name", "", std, strings.Replace(call, `"name":"echo"`, `"name":"ech\u006f"`, 1), false},
		{"batch", "", std, "[" + call + "]", false},
		{"float id", "", std, strings.Replace(call, `"id":7`, `"id":7.5`, 1), false},
		{"jsonrpc 1.0", "", std, strings.Replace(call, `"2.0"`, `"1.0"`, 1), false},
		{"result member", "", std, strings.Replace(call, `"params"`, `"result":1,"params"`, 1), false},
		{"text/plain", "", with("content-type", "text/plain"), call, false},
		{"query string", "/fast/mcp?x=1", std, call, false},
		{"other endpoint", "/mcp", std, call, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = "/fast/mcp"
			}
			headers := maps.Clone(tc.headers)
			headers["x-other"] = "dropped"
			c := env.send(t, path, tc.body, headers)
			if c.seen == nil {
				t.Fatalf("the upstream did not get the request once (status %d)", c.status)
			}
			s := c.seen
			viaExtProc := !c.fast
			if tc.fast {
				if viaExtProc || s.Path != "/upstream/mcp" {
					t.Fatalf("took the full path (ext_proc saw the answer: %v, upstream path %q), want the fast path", viaExtProc, s.Path)
				}
				wantBody, wantName := tc.body, tc.headers["mcp-name"]
				if path == AggregateEndpoint {
					// The name without its prefix, in the body and Mcp-Name.
					wantName = strings.TrimPrefix(wantName, "fast-")
					wantBody = strings.Replace(tc.body, `"fast-`, `"`, 1)
				}
				if s.Body != wantBody {
					t.Errorf("upstream body %q, want %q", s.Body, wantBody)
				}
				// x-envoy-original-path: the full path rewrites the path
				// in ext_proc, which adds no header naming the endpoint.
				for _, h := range []string{"x-litellm-api-key", "x-other", "x-envoy-original-path"} {
					if v := s.Header.Get(h); v != "" {
						t.Errorf("upstream got %s: %q; the full path sends none", h, v)
					}
				}
				if s.Header.Get("mcp-name") != wantName || s.Header.Get("mcp-protocol-version") != "2026-07-28" {
					t.Errorf("upstream lost MCP headers: %v", s.Header)
				}
				if v := c.header.Get("mcp-session-id"); v != "" {
					t.Errorf("client got the upstream's mcp-session-id %q", v)
				}
				return
			}
			if !viaExtProc || s.Path != path {
				t.Fatalf("took the fast path (upstream path %q), want ext_proc", s.Path)
			}
			if s.Header.Get("x-other") != "dropped" {
				t.Errorf("a request left to ext_proc lost a header before ext_proc saw it")
			}
		})
	}

	t.Run("route stats count fast calls", func(t *testing.T) {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/stats?filter=fast_path", p.AdminPort))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		fast := 0
		for _, tc := range tests {
			if tc.fast {
				fast++
			}
		}
		if want := fmt.Sprintf("vhost.mcpgw.route.fast_path_fast.upstream_rq_total: %d\n", fast); !strings.Contains(string(b), want) {
			t.Errorf("stats %s\nwant %q", b, want)
		}
	})

	// Envoy sends the access log entries of the calls it decided, and of
	// no other, to the ext_proc cluster's access log service, in batches
	// (about a second apart): polled, not timed.
	t.Run("access log service gets the fast calls", func(t *testing.T) {
		fast := 0
		for _, tc := range tests {
			if tc.fast {
				fast++
			}
		}
		// fastCall makes a fast call with the request id id.
		fastCall := func(id, what string) {
			req, _ := http.NewRequest(http.MethodPost, base+"/fast/mcp", strings.NewReader(call))
			for k, v := range std {
				req.Header.Set(k, v)
			}
			req.Header.Set("x-request-id", id)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if len(up.take()) != 1 || resp.Header.Get("x-test-ext-proc") != "" {
				t.Fatalf("%s did not take the fast path", what)
			}
		}
		// A request id is the client's, any bytes Envoy lets through: the
		// service must read the message that carries it either way (one
		// it refused would lose every entry in it).
		fastCall("bad-\xff-id", "the call with a request id not UTF-8")
		fast++
		// A last fast call on the same connection: once its entry is in,
		// so is every earlier one (a worker's entries are sent in order,
		// and a connection stays on one worker).
		fastCall("last-call", "the last call")
		var got []alsEntry
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if got = als.entries(); slices.ContainsFunc(got, func(e alsEntry) bool { return e.requestID == "last-call" }) {
				break
			}
		}
		if len(got) != fast+1 {
			t.Fatalf("access log service got %d entries, want %d (the fast calls): %+v", len(got), fast+1, got)
		}
		alice := 0
		for _, e := range got {
			if e.logName != wellknown.FastPathLogName || e.meta["decided_by"] != "envoy" || e.meta["server"] != "fast" ||
				e.meta["mcp_method"] != "tools/call" || (e.meta["tool"] != "echo" && e.meta["tool"] != "other" && e.meta["tool"] != strings.Repeat("t", 251)) || e.requestID == "" {
				t.Errorf("entry %+v", e)
			}
			if e.meta["key_alias"] == "alice" {
				alice++
				if e.meta["key_team"] != "docs" || e.meta["key_org"] != "acme" {
					t.Errorf("alice's entry without her team and organization: %+v", e)
				}
			}
		}
		if alice == 0 {
			t.Errorf("no entry with key_alias alice: %+v", got)
		}
		// The module writes U+FFFD, as the full path's decision line has
		// it; Envoy's logger writes "!" in request_id (and the bytes as
		// they came in common_properties.stream_id, which a protobuf
		// decoder refuses).
		badID := "bad-\uFFFD-id"
		if engineOf(t) == engineLua {
			badID = "bad-!-id"
		}
		if !slices.ContainsFunc(got, func(e alsEntry) bool { return e.requestID == badID }) {
			t.Errorf("no entry for the request id not UTF-8 (as %s): %+v", badID, got)
		}
	})

	t.Run("each server's calls reach its own upstream", func(t *testing.T) {
		for _, tc := range []struct {
			path     string
			up, idle *fastUpstream
		}{{"/fast2/mcp", up2, up}, {"/fast/mcp", up, up2}} {
			req, _ := http.NewRequest(http.MethodPost, base+tc.path, strings.NewReader(call))
			for k, v := range std {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			seen, other := tc.up.take(), tc.idle.take()
			if len(seen) != 1 || len(other) != 0 || resp.Header.Get("x-test-ext-proc") != "" || seen[0].Path != "/upstream/mcp" {
				t.Errorf("%s: its upstream saw %d requests, the other %d (ext_proc: %v), want 1 and 0 on the fast path",
					tc.path, len(seen), len(other), resp.Header.Get("x-test-ext-proc") != "")
			}
		}
	})

	// A body over the limit is the full path's, at once (on a candidate
	// route the fast path's buffering held one, or passed it on whole).
	t.Run("body over the limit", func(t *testing.T) {
		for _, size := range []int{int(p.MaxRequestBodyBytes) + 10, 4 * int(p.MaxRequestBodyBytes)} {
			body := strings.Replace(call, `"hi"`, `"`+strings.Repeat("y", size)+`"`, 1)
			req, _ := http.NewRequest(http.MethodPost, base+"/fast/mcp", strings.NewReader(body))
			for k, v := range std {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%d bytes: %v", len(body), err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge || len(up.take()) != 0 {
				t.Errorf("%d bytes: %d, want 413 with nothing upstream", len(body), resp.StatusCode)
			}
		}
	})

	// As the full path answers (TestFastPathDiff): its own reply, with
	// none of the upstream's headers, the id written as Go writes it.
	t.Run("garbage answer becomes the full path's 502", func(t *testing.T) {
		for _, tc := range []struct{ id, want string }{{`"q"`, `"q"`}, {`"q<&>"`, `"q\u003c\u0026\u003e"`}, {`-3`, `-3`}} {
			c := env.send(t, "/fast/mcp", `{"jsonrpc":"2.0","id":`+tc.id+`,"method":"tools/call","params":{"name":"html"}}`, with("mcp-name", "html"))
			if c.seen == nil || !c.fast {
				t.Fatal("the call did not take the fast path")
			}
			want := `{"jsonrpc":"2.0","id":` + tc.want + `,"error":{"code":-32603,"message":"upstream MCP server \"fast\" answered HTTP 500 with text/html, not JSON-RPC"}}`
			if c.status != http.StatusBadGateway || c.body != want || c.header.Get("content-type") != "application/json" {
				t.Errorf("id %s: got %d %s %q, want 502 application/json %s", tc.id, c.status, c.header.Get("content-type"), c.body, want)
			}
			for _, h := range []string{"x-upstream-own", "mcp-session-id"} {
				if v := c.header.Get(h); v != "" {
					t.Errorf("id %s: the reply has the upstream's %s: %q", tc.id, h, v)
				}
			}
		}
	})

	t.Run("an unreadable answer without a body, or larger than Envoy buffers, is the full path's 502", func(t *testing.T) {
		if engineOf(t) == engineLua {
			// The Lua filter replaces only a body it can hold.
			t.Skip("the module's")
		}
		for _, tool := range []string{"html_empty", "html_big"} {
			c := env.send(t, "/fast/mcp", `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"`+tool+`"}}`, with("mcp-name", tool, "x-litellm-api-key", "sk-open"))
			if c.seen == nil || !c.fast {
				t.Fatalf("%s: the call did not take the fast path", tool)
			}
			if c.status != http.StatusBadGateway || !strings.HasPrefix(c.body, `{"jsonrpc":"2.0","id":5,"error":{"code":-32603,"message":"upstream MCP server \"fast\" answered HTTP `) {
				t.Errorf("%s: got %d %q, want the 502 naming the server", tool, c.status, c.body)
			}
		}
	})

	t.Run("never allows what the full path refuses", func(t *testing.T) {
		fastPathProperty(t, "", func(body, mcpName string) (fast bool, upstreamBody string) {
			c := env.send(t, "/fast/mcp", body, with("mcp-name", mcpName))
			if c.seen == nil {
				return false, ""
			}
			return c.fast, c.seen.Body
		})
	})
	t.Run("never allows what the full path refuses, on /mcp", func(t *testing.T) {
		fastPathProperty(t, "fast-", func(body, mcpName string) (fast bool, upstreamBody string) {
			c := env.send(t, "/mcp", body, with("mcp-name", mcpName))
			if c.seen == nil {
				// The other server ("fast2-echo"): checked here, as the
				// property checks the first.
				if seen := env.up2.take(); len(seen) == 1 {
					if !c.fast || !fullPathAllows(body, mcpName, "fast2-") {
						t.Errorf("fast2 got %s (fast %v), which the full path refuses", body, c.fast)
					}
					if want := strings.Replace(body, `"`+mcpName+`"`, `"`+strings.TrimPrefix(mcpName, "fast2-")+`"`, 1); seen[0].Body != want {
						t.Errorf("fast2 got %s, want %s", seen[0].Body, want)
					}
				}
				return false, ""
			}
			if c.fast && (c.seen.Path != "/upstream/mcp" || c.seen.Header.Get("mcp-name") != strings.TrimPrefix(mcpName, "fast-")) {
				t.Errorf("a fast call on /mcp reached %s with Mcp-Name %q", c.seen.Path, c.seen.Header.Get("mcp-name"))
			}
			return c.fast, c.seen.Body
		})
	})
}

// TestFastPathCost (MCPGW_FAST_PATH_COST=1) logs the p50 latency of
// sequential calls through Envoy, and Envoy's CPU time per call, four
// ways: straight to the upstream route by its x-mcp-cluster with ext_proc
// off (Envoy alone, no fast-path filters), the fast path at 2026-07-28,
// the fast path at 2025-11-25 with a session id, and the same request
// with a key the fast path does not know (ext_proc, a test processor that
// only routes). The ways take turns, round after round, so that the
// machine's drift falls on all of them; once per engine. A probe, not a
// benchmark: make bench measures.
func TestFastPathCost(t *testing.T) {
	if os.Getenv("MCPGW_FAST_PATH_COST") == "" {
		t.Skip("set MCPGW_FAST_PATH_COST=1")
	}
	forEachEngine(t, testFastPathCost)
}

func testFastPathCost(t *testing.T) {
	sealer, err := clientsession.NewSealer([]string{"cost-probe-secret"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// The fast calls' access log entries go where the gateway's would.
	env := startFastPathEnvoyWith(t, map[string]FastPathGrant{digestOf("sk-a"): {Tools: []string{"echo"}, Params: map[string][]string{"echo": {"text"}},
		Versions: []string{"2025-11-25", "2026-07-28"}}}, time.Now().Add(time.Hour), &testAccessLog{}, func(fp *FastPath) {
		fp.SessionKeys, fp.SessionTTL = sealer.MACKeys(), sealer.TTL()
	})
	p, up, srv := env.p, env.up, env.srv
	plain := p
	plain.ListenPort, plain.AdminPort, plain.FastPath, plain.NoExtProc = testutil.FreePort(t), testutil.FreePort(t), nil, true
	startEnvoy(t, plain)
	pids := childEnvoys() // env's, then plain's
	session := sealer.New(0, digestOf("sk-a"))
	client := &http.Client{Timeout: 5 * time.Second}
	const body = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/clientInfo":{"name":"b","version":"1"},"io.modelcontextprotocol/protocolVersion":"2026-07-28"},"name":"echo","arguments":{"text":"hello"}}}`
	type way struct {
		name    string
		envoy   int // index in pids
		request func() *http.Request
		p50s    []time.Duration
		cpu     []time.Duration
	}
	call := func(port int, path, key string, headers map[string]string) func() *http.Request {
		return func() *http.Request {
			req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d%s", port, path), strings.NewReader(body))
			for k, v := range headers {
				req.Header.Set(k, v)
			}
			req.Header.Set("x-litellm-api-key", key)
			return req
		}
	}
	std := fastPathHeaders()
	older := map[string]string{"content-type": "application/json", "accept": "application/json, text/event-stream",
		"mcp-protocol-version": "2025-11-25", "mcp-session-id": session}
	alone := maps.Clone(std)
	alone[wellknown.RouteHeader] = srv.Cluster
	ways := []*way{
		{name: "Envoy alone", envoy: 1, request: call(plain.ListenPort, "/upstream/mcp", "", alone)},
		{name: "fast path, 2026-07-28", request: call(p.ListenPort, "/fast/mcp", "sk-a", std)},
		{name: "fast path, 2025-11-25 and a session", request: call(p.ListenPort, "/fast/mcp", "sk-a", older)},
		{name: "full path (candidate route, ext_proc)", request: call(p.ListenPort, "/fast/mcp", "sk-unknown", std)},
	}
	const calls, warm = 1500, 200
	for range 6 {
		for _, w := range ways {
			var ds []time.Duration
			c0 := cpuTicks(pids)
			for i := range calls + warm {
				req := w.request()
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if i >= warm {
					ds = append(ds, time.Since(t0))
				}
			}
			c1 := cpuTicks(pids)
			slices.Sort(ds)
			w.p50s = append(w.p50s, ds[len(ds)/2])
			if len(c0) == len(pids) && len(c1) == len(pids) && len(pids) == 2 {
				// Clock ticks of 10 ms, over every request sent.
				w.cpu = append(w.cpu, time.Duration(c1[w.envoy]-c0[w.envoy])*10*time.Millisecond/(calls+warm))
			}
			up.take()
		}
	}
	median := func(ds []time.Duration) time.Duration {
		if len(ds) == 0 {
			return 0
		}
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	for _, w := range ways {
		t.Logf("%-40s p50 %v (median of rounds), Envoy CPU per call %v", w.name, median(w.p50s), median(w.cpu))
	}
}

// childEnvoys are the pids of this process's Envoy children, in the order
// they started (Linux; none elsewhere).
func childEnvoys() []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
		f := strings.Fields(string(b))
		if len(f) > 4 && f[1] == "(envoy)" && f[3] == strconv.Itoa(os.Getpid()) {
			out = append(out, pid)
		}
	}
	slices.Sort(out)
	return out
}

// cpuTicks is each pid's user and system CPU time, in clock ticks.
func cpuTicks(pids []int) []int {
	var out []int
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return nil
		}
		f := strings.Fields(string(b))
		u, _ := strconv.Atoi(f[13])
		s, _ := strconv.Atoi(f[14])
		out = append(out, u+s)
	}
	return out
}

// TestFastPathStaleGrants: grants past their ValidUntil (a gateway that
// stopped refreshing them) decide nothing: the call goes to ext_proc.
func TestFastPathStaleGrants(t *testing.T) { forEachEngine(t, testFastPathStaleGrants) }

func testFastPathStaleGrants(t *testing.T) {
	env := startFastPathEnvoy(t, map[string]FastPathGrant{digestOf("sk-a"): {AnyTool: true}}, time.Now().Add(-time.Second), nil)
	c := env.send(t, "/fast/mcp", `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo"}}`, fastPathHeaders())
	if c.seen == nil || c.seen.Path != "/fast/mcp" || c.fast {
		t.Fatalf("a call with stale grants did not go through ext_proc (upstream saw %+v)", c.seen)
	}
}

// testAccessLog is an access log service recording the HTTP entries it
// gets. It reads them as the gateway does (decisionlog.Read: strings
// that are not UTF-8 are taken, not refused with their batch).
type testAccessLog struct {
	mu  sync.Mutex
	got []alsEntry
}

type alsEntry struct {
	logName, requestID string
	meta               map[string]string
}

var testAccessLogService = grpc.ServiceDesc{
	ServiceName: "envoy.service.accesslog.v3.AccessLogService",
	HandlerType: (*any)(nil),
	Streams: []grpc.StreamDesc{{
		StreamName:    "StreamAccessLogs",
		Handler:       func(srv any, stream grpc.ServerStream) error { return srv.(*testAccessLog).stream(stream) },
		ClientStreams: true,
	}},
}

func (a *testAccessLog) stream(stream grpc.ServerStream) error {
	var name string
	for {
		raw := &emptypb.Empty{}
		if err := stream.RecvMsg(raw); err != nil {
			return nil
		}
		msg, err := decisionlog.Read(raw.ProtoReflect().GetUnknown())
		if err != nil {
			return err
		}
		if msg.LogName != "" {
			name = msg.LogName
		}
		a.mu.Lock()
		for _, e := range msg.Entries {
			a.got = append(a.got, alsEntry{name, e.RequestID, e.Metadata})
		}
		a.mu.Unlock()
	}
}

func (a *testAccessLog) entries() []alsEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.got)
}

// The fast path's two engines (FastPath.Module): the gateway's dynamic
// module, and fastpath.lua where there is none. Every live test of the
// fast path runs on both, as subtests named by engine.
const (
	engineModule = "module"
	engineLua    = "lua"
)

func forEachEngine(t *testing.T, test func(*testing.T)) {
	for _, engine := range []string{engineModule, engineLua} {
		t.Run(engine, test)
	}
}

// engineOf is the engine of the forEachEngine subtest t runs in.
func engineOf(t *testing.T) string {
	_, rest, _ := strings.Cut(t.Name(), "/")
	engine, _, _ := strings.Cut(rest, "/")
	return engine
}
