package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// notesUpstream is a stateful go-sdk server (sessions, protocol up to
// 2025-11-25, as go-sdk serves it) whose tools keep a note per upstream
// session: what one caller leaves there, a caller given the same session
// would read. It counts calls running at once on one session, which must
// never exceed one for session-less callers.
type notesUpstream struct {
	URL      string
	mu       sync.Mutex
	notes    map[string]string
	running  map[string]int
	overlaps atomic.Int64 // calls that found another running on their session
	calls    atomic.Int64
	deletes  atomic.Int64 // DELETEs (sessions ended)
	inits    atomic.Int64
}

type noteArgs struct {
	Text string `json:"text,omitempty"`
}

func startNotesUpstream(t *testing.T) *notesUpstream {
	t.Helper()
	u := &notesUpstream{notes: map[string]string{}, running: map[string]int{}}
	srv := mcp.NewServer(&mcp.Implementation{Name: "notes", Version: "1"}, nil)
	enter := func(id string) func() {
		u.calls.Add(1)
		u.mu.Lock()
		u.running[id]++
		if u.running[id] > 1 {
			u.overlaps.Add(1)
		}
		u.mu.Unlock()
		return func() { u.mu.Lock(); u.running[id]--; u.mu.Unlock() }
	}
	mcp.AddTool(srv, &mcp.Tool{Name: "set_note"}, func(ctx context.Context, req *mcp.CallToolRequest, in noteArgs) (*mcp.CallToolResult, any, error) {
		id := req.Session.ID()
		defer enter(id)()
		u.mu.Lock()
		u.notes[id] = in.Text
		u.mu.Unlock()
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "saved"}}}, nil, nil
	})
	mcp.AddTool(srv, &mcp.Tool{Name: "get_note"}, func(ctx context.Context, req *mcp.CallToolRequest, in noteArgs) (*mcp.CallToolResult, any, error) {
		id := req.Session.ID()
		defer enter(id)()
		u.mu.Lock()
		note := u.notes[id]
		u.mu.Unlock()
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "note:" + note}}}, nil, nil
	})
	mcp.AddTool(srv, &mcp.Tool{Name: "slow_echo"}, func(ctx context.Context, req *mcp.CallToolRequest, in noteArgs) (*mcp.CallToolResult, any, error) {
		defer enter(req.Session.ID())()
		time.Sleep(5 * time.Millisecond)
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: in.Text}}}, nil, nil
	})
	// sleep runs on for 2 s whatever the client does.
	mcp.AddTool(srv, &mcp.Tool{Name: "sleep"}, func(ctx context.Context, req *mcp.CallToolRequest, in noteArgs) (*mcp.CallToolResult, any, error) {
		defer enter(req.Session.ID())()
		time.Sleep(2 * time.Second)
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "slept"}}}, nil, nil
	})
	srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if method == "initialize" {
				u.inits.Add(1)
			}
			return next(ctx, method, req)
		}
	})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{DisableLocalhostProtection: true})
	u.URL = serveHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			u.deletes.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	return u
}

const twoKeysConfig = `
mcp_servers:
  notes:
    url: %q
access:
  keys:
    - {key_alias: alice, key: sk-alice-0123456789, object_permission: {mcp_servers: [notes]}}
    - {key_alias: bob, key: sk-bob-0123456789, object_permission: {mcp_servers: [notes]}}
`

// keyedClient connects a go-sdk client (at version, "" for its default,
// 2026-07-28) through the gateway with a gateway key ("" for none).
func keyedClient(t *testing.T, endpoint, key, version string) *mcp.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := mcp.NewClient(&mcp.Implementation{Name: "e2e-" + key, Version: "1"}, nil)
	var opts *mcp.ClientSessionOptions
	if version != "" {
		opts = &mcp.ClientSessionOptions{ProtocolVersion: version}
	}
	hc := http.DefaultClient
	if key != "" {
		hc = &http.Client{Transport: headerRoundTripper{"x-litellm-api-key": key}}
	}
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, MaxRetries: -1, HTTPClient: hc}, opts)
	if err != nil {
		t.Fatalf("connect with %s at %q: %v", key, version, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// Clients without a gateway session (every 2026-07-28 client, and older
// clients that skip initialize) never share upstream state with another
// key, and concurrent calls never share an upstream session (their
// JSON-RPC ids would collide: every client counts from 1).
func TestKeysNeverShareUpstreamState(t *testing.T) {
	up := startNotesUpstream(t)
	inst := gatewayUnder(t, fmt.Sprintf(twoKeysConfig, up.URL))
	endpoint := inst.Endpoint
	ctx := t.Context()

	alice := keyedClient(t, endpoint, "sk-alice-0123456789", "") // go-sdk's default: 2026-07-28
	bob := keyedClient(t, endpoint, "sk-bob-0123456789", "")
	if v := alice.InitializeResult().ProtocolVersion; v != "2026-07-28" {
		t.Fatalf("client negotiated %s, want 2026-07-28 (the case under test)", v)
	}
	if got := mustText(t, alice, "notes-set_note", map[string]any{"text": "alice's secret"}); got != "saved" {
		t.Fatalf("set_note: %q", got)
	}
	for range 5 {
		if got := mustText(t, bob, "notes-get_note", map[string]any{}); strings.Contains(got, "alice") {
			t.Fatalf("bob read alice's note through a shared upstream session: %q", got)
		}
	}

	// A 2025 client that skips initialize: raw calls without a session.
	raw := func(key, tool, args string) string {
		body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, tool, args)
		status, _, resp := post(t, endpoint, []byte(body), map[string]string{"x-litellm-api-key": key, "mcp-protocol-version": "2025-06-18"})
		if status != 200 {
			t.Fatalf("%s %s: %d %s", key, tool, status, resp)
		}
		return resp
	}
	raw("sk-alice-0123456789", "notes-set_note", `{"text":"alice again"}`)
	for range 5 {
		if got := raw("sk-bob-0123456789", "notes-get_note", `{}`); strings.Contains(got, "alice") {
			t.Fatalf("session-less 2025 client of bob read alice's note: %s", got)
		}
	}

	// Eight 2026-07-28 clients of one key at once, each counting ids from
	// 1: no errors, never two calls on one upstream session at once.
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range 8 {
		cs := keyedClient(t, endpoint, "sk-alice-0123456789", "")
		wg.Go(func() {
			for j := range 25 {
				want := fmt.Sprintf("c%d-%d", i, j)
				got, res, err := callText(ctx, cs, "notes-slow_echo", map[string]any{"text": want})
				if err != nil || res.IsError || got != want {
					failed.Add(1)
					t.Errorf("client %d call %d: %q %v", i, j, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := up.overlaps.Load(); n != 0 || failed.Load() != 0 {
		t.Fatalf("%d calls ran on an upstream session another call was using; %d clients failed", n, failed.Load())
	}
}

// A gateway session id opens only for the key that initialized it.
func TestSessionIsBoundToItsKey(t *testing.T) {
	up := startNotesUpstream(t)
	inst := gatewayUnder(t, fmt.Sprintf(twoKeysConfig, up.URL))
	endpoint := inst.Endpoint
	alice := keyedClient(t, endpoint, "sk-alice-0123456789", "2025-11-25")
	id := alice.ID()
	if id == "" {
		t.Fatal("no gateway session id")
	}
	call := `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"notes-get_note","arguments":{}}}`
	list := `{"jsonrpc":"2.0","id":4,"method":"tools/list"}`
	for _, body := range []string{call, list} {
		status, _, resp := post(t, endpoint, []byte(body), map[string]string{
			"x-litellm-api-key": "sk-bob-0123456789", "mcp-session-id": id, "mcp-protocol-version": "2025-11-25"})
		if status != 404 || !strings.Contains(resp, "Session not found") {
			t.Errorf("bob with alice's session id: %d %s", status, resp)
		}
		status, _, resp = post(t, endpoint, []byte(body), map[string]string{
			"x-litellm-api-key": "sk-alice-0123456789", "mcp-session-id": id, "mcp-protocol-version": "2025-11-25"})
		if status != 200 {
			t.Errorf("alice with her own session id: %d %s", status, resp)
		}
	}
	// Bob cannot end it either.
	req, _ := http.NewRequest(http.MethodDelete, endpoint, nil)
	req.Header.Set("x-litellm-api-key", "sk-bob-0123456789")
	req.Header.Set("mcp-session-id", id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("bob's DELETE of alice's session: %d", resp.StatusCode)
	}
	if got := mustText(t, alice, "notes-get_note", map[string]any{}); !strings.HasPrefix(got, "note:") {
		t.Errorf("alice's session after bob's DELETE: %q", got)
	}
}

// Only POST carries JSON-RPC: a tools/call body on any other method never
// reaches the upstream.
func TestOnlyPostIsRouted(t *testing.T) {
	up := startNotesUpstream(t)
	inst := gatewayUnder(t, fmt.Sprintf(twoKeysConfig, up.URL))
	endpoint := inst.Endpoint
	alice := keyedClient(t, endpoint, "sk-alice-0123456789", "2025-11-25")
	mustText(t, alice, "notes-get_note", map[string]any{})
	before := up.calls.Load()
	body := []byte(`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"notes-set_note","arguments":{"text":"x"}}}`)
	for _, tc := range []struct {
		method string
		status int
	}{
		{http.MethodPut, 405}, {http.MethodPatch, 405}, {"OPTIONS", 405}, {"HEAD", 405},
		{http.MethodGet, 0}, {http.MethodDelete, 0},
	} {
		req, _ := http.NewRequest(tc.method, endpoint, bytes.NewReader(body))
		req.Header.Set("content-type", "application/json")
		req.Header.Set("accept", "application/json, text/event-stream")
		req.Header.Set("x-litellm-api-key", "sk-alice-0123456789")
		req.Header.Set("mcp-session-id", alice.ID())
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second) // GET opens a stream
		resp, err := http.DefaultClient.Do(req.WithContext(ctx))
		if err == nil {
			if tc.status != 0 && resp.StatusCode != tc.status {
				t.Errorf("%s: status %d, want %d", tc.method, resp.StatusCode, tc.status)
			}
			if tc.status == 405 && resp.Header.Get("Allow") != "GET, POST, DELETE" {
				t.Errorf("%s: Allow %q", tc.method, resp.Header.Get("Allow"))
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		cancel()
	}
	time.Sleep(200 * time.Millisecond)
	if n := up.calls.Load() - before; n != 0 {
		t.Fatalf("%d tool calls reached the upstream through non-POST methods", n)
	}
	// The DELETE ended alice's gateway session (its own, so allowed) and
	// with it her upstream session: one upstream DELETE, no call.
	if n := up.deletes.Load(); n > 1 {
		t.Fatalf("upstream got %d DELETEs for one client DELETE", n)
	}
}

// Requests the gateway must refuse before deciding anything: an unknown
// MCP-Protocol-Version, a lone case-variant params member.
func TestMalformedRequestsAreRefused(t *testing.T) {
	up := startNotesUpstream(t)
	inst := gatewayUnder(t, fmt.Sprintf(twoKeysConfig, up.URL))
	endpoint := inst.Endpoint
	key := map[string]string{"x-litellm-api-key": "sk-alice-0123456789"}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for a, b := range key {
			m[a] = b
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		body    string
		headers map[string]string
		status  int
		want    string
	}{
		{"unknown version", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"notes-get_note"}}`,
			with("mcp-protocol-version", "2099-01-01"), 400, "Unsupported MCP-Protocol-Version"},
		{"garbage version", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
			with("mcp-protocol-version", "latest"), 400, "Unsupported MCP-Protocol-Version"},
		{"lone Arguments", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"notes-set_note","Arguments":{"text":"x"}}}`,
			with("mcp-protocol-version", "2025-06-18"), 400, `params member \"Arguments\"`},
		// A call in a batch would run in the sidecar, without the caller's
		// upstream session and credentials.
		{"call in a batch", `[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"notes-set_note","arguments":{"text":"x"}}}]`,
			with("mcp-protocol-version", "2025-03-26"), 400, "a JSON-RPC batch may not carry tools/call"},
	} {
		status, _, resp := post(t, endpoint, []byte(tc.body), tc.headers)
		if status != tc.status || !strings.Contains(resp, tc.want) {
			t.Errorf("%s: %d %s", tc.name, status, resp)
		}
	}
	if n := up.calls.Load(); n != 0 {
		t.Fatalf("%d refused calls reached the upstream", n)
	}

	// A server list naming a server that does not exist is served (the
	// name skipped), but a name with a control character is refused: it
	// would travel on with the path into the legacy stream's endpoint
	// event and inject a second one.
	req, _ := http.NewRequest(http.MethodGet, strings.Replace(endpoint, "/mcp", "/mcp/notes,x%0A%0Aevent:%20endpoint%0Adata:%20https:%2F%2Fevil.example/sse", 1), nil)
	req.Header.Set("x-litellm-api-key", "sk-alice-0123456789")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != 400 || strings.Contains(string(b), "evil") {
		t.Errorf("control characters in a server list: %d %s", resp.StatusCode, b)
	}
}

// An upstream's 400 about the call itself is its answer, not a lost
// session: no new session, no replay; an upstream answering with an HTML
// page gets the client a JSON-RPC error naming it.
func TestUpstreamRefusalsAndGarbage(t *testing.T) {
	var inits, calls atomic.Int64
	srv := mcp.NewServer(&mcp.Implementation{Name: "picky", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "ok"}, func(ctx context.Context, req *mcp.CallToolRequest, in noteArgs) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "fine"}}}, nil, nil
	})
	mcp.AddTool(srv, &mcp.Tool{Name: "refused"}, func(ctx context.Context, req *mcp.CallToolRequest, in noteArgs) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{}, nil, nil
	})
	mcp.AddTool(srv, &mcp.Tool{Name: "unauthorized"}, func(ctx context.Context, req *mcp.CallToolRequest, in noteArgs) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{}, nil, nil
	})
	mcp.AddTool(srv, &mcp.Tool{Name: "html"}, func(ctx context.Context, req *mcp.CallToolRequest, in noteArgs) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{}, nil, nil
	})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{DisableLocalhostProtection: true})
	url := serveHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		switch {
		case bytes.Contains(body, []byte(`"method":"initialize"`)):
			inits.Add(1)
		case bytes.Contains(body, []byte(`"name":"refused"`)):
			calls.Add(1)
			// What go-sdk answers a request id already in flight.
			http.Error(w, "duplicate in-flight request ID", http.StatusBadRequest)
			return
		case bytes.Contains(body, []byte(`"name":"unauthorized"`)):
			w.Header().Set("WWW-Authenticate", `Bearer realm="picky"`)
			http.Error(w, "token refused", http.StatusUnauthorized)
			return
		case bytes.Contains(body, []byte(`"name":"html"`)):
			calls.Add(1)
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, "<html><body>Login required</body></html>")
			return
		}
		h.ServeHTTP(w, r)
	}))
	inst := gatewayUnder(t, configFor(map[string]string{"picky": url}))
	cs := keyedClient(t, inst.Endpoint, "", "2025-11-25")
	mustText(t, cs, "picky-ok", map[string]any{})
	initsBefore := inits.Load()

	call := func(tool string) (int, string) {
		body := fmt.Sprintf(`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":%q,"arguments":{}}}`, tool)
		status, _, resp := post(t, inst.Endpoint, []byte(body), map[string]string{
			"mcp-session-id": cs.ID(), "mcp-protocol-version": "2025-11-25"})
		return status, resp
	}
	// A 4xx is the upstream's answer, passed as it is.
	if status, resp := call("picky-refused"); status != 400 || !strings.Contains(resp, "duplicate in-flight request ID") {
		t.Errorf("refused call: %d %s", status, resp)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("the refused call reached the upstream %d times (replayed?)", n)
	}
	if n := inits.Load() - initsBefore; n != 0 {
		t.Errorf("a 400 about the call opened %d new upstream sessions", n)
	}
	mustText(t, cs, "picky-ok", map[string]any{}) // the session still works

	body := `{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"picky-unauthorized","arguments":{}}}`
	status, hdr, resp := post(t, inst.Endpoint, []byte(body), map[string]string{"mcp-session-id": cs.ID(), "mcp-protocol-version": "2025-11-25"})
	if status != 401 || hdr.Get("WWW-Authenticate") != `Bearer realm="picky"` {
		t.Errorf("an upstream's 401 reached the client as %d %q %s", status, hdr.Get("WWW-Authenticate"), resp)
	}
	if status, resp := call("picky-html"); status != 502 || !strings.Contains(resp, `upstream MCP server \"picky\" answered HTTP 200 with text/html, not JSON-RPC`) {
		t.Errorf("html answer: %d %s", status, resp)
	}
	if _, _, err := callText(t.Context(), cs, "picky-html", map[string]any{}); err == nil {
		t.Error("a go-sdk client took the HTML page for a result")
	}
}

// Session-less clients hold leases that an upstream restart kills all at
// once: the next calls still succeed (one replay on a fresh session, the
// dead idle ones dropped), and a call abandoned mid-answer never hands its
// busy session to the next call.
func TestLeasesSurviveRestartsAndAbandonedCalls(t *testing.T) {
	alpha := startUpstream(t, "alpha", false, "echo")
	inst := gatewayUnder(t, configFor(map[string]string{"alpha": alpha.URL}))
	cs := connect(t, inst.Endpoint) // go-sdk's default, 2026-07-28: no session
	ctx := t.Context()
	var wg sync.WaitGroup
	for range 4 { // several calls at once: several leases, then idle
		wg.Go(func() { callEcho(ctx, t, cs, "alpha-echo", "warm") })
	}
	wg.Wait()
	alpha.Restart()
	for i := range 8 {
		if got, _, err := callText(ctx, cs, "alpha-echo", map[string]any{"text": fmt.Sprint(i)}); err != nil || got != fmt.Sprintf("alpha:echo:%d", i) {
			t.Fatalf("call %d after the upstream restarted: %q %v", i, got, err)
		}
	}

	up := startNotesUpstream(t)
	inst = gatewayUnder(t, fmt.Sprintf(twoKeysConfig, up.URL))
	raw := func(timeout time.Duration, tool string) (int, string, error) {
		body := fmt.Sprintf(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":%q,"arguments":{}}}`, tool)
		req, _ := http.NewRequest(http.MethodPost, inst.Endpoint, strings.NewReader(body))
		req.Header.Set("content-type", "application/json")
		req.Header.Set("accept", "application/json, text/event-stream")
		req.Header.Set("x-litellm-api-key", "sk-alice-0123456789")
		req.Header.Set("mcp-protocol-version", "2025-06-18")
		c := &http.Client{Timeout: timeout}
		resp, err := c.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	if _, _, err := raw(300*time.Millisecond, "notes-sleep"); err == nil {
		t.Fatal("the sleeping call answered within 300 ms")
	}
	time.Sleep(100 * time.Millisecond) // the gateway sees the client go
	for i := range 3 {
		status, resp, err := raw(10*time.Second, "notes-slow_echo")
		if err != nil || status != 200 || strings.Contains(resp, "duplicate") {
			t.Fatalf("call %d with the abandoned call's id: %d %s %v", i, status, resp, err)
		}
	}
	if n := up.overlaps.Load(); n != 0 {
		t.Fatalf("%d calls ran on a session the abandoned call was still using", n)
	}
}
