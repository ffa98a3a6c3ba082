package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/mcpgw/mcpgw/upstreams"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/internal/testutil"
	"github.com/mcpgw/mcpgw/upstreams/demo"
)

// recorder collects OnChange reports.
type recorder struct {
	mu    sync.Mutex
	calls []string // "alias:n" or "alias:down"
}

func (r *recorder) onChange(alias string, tools []*mcp.Tool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if tools == nil {
		r.calls = append(r.calls, alias+":down")
		return
	}
	r.calls = append(r.calls, fmt.Sprintf("%s:%d", alias, len(tools)))
}

func (r *recorder) seen(call string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.calls, call)
}

func startDiscovery(t *testing.T, opts Options, ups ...*upstreams.Upstream) *Discovery {
	t.Helper()
	d, err := New(ups, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Close()
		testutil.CheckNoLeaks(t)
	})
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return d
}

func toolNames(tools []*mcp.Tool) []string {
	var names []string
	for _, t := range tools {
		names = append(names, t.Name)
	}
	slices.Sort(names)
	return names
}

func hasTool(d *Discovery, alias, name string) bool {
	return slices.Contains(toolNames(d.Tools()[alias]), name)
}

func TestDiscoveryListsEveryUpstream(t *testing.T) {
	stateful := newTestUpstream(t, "full", false)
	stateless := newTestUpstream(t, "lite", true)
	pagedSrv := mcp.NewServer(&mcp.Implementation{Name: "paged", Version: "1"}, &mcp.ServerOptions{PageSize: 2})
	for i := range 5 {
		pagedSrv.AddTool(&mcp.Tool{Name: fmt.Sprintf("t%d", i), InputSchema: map[string]any{"type": "object"}},
			func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return &mcp.CallToolResult{}, nil
			})
	}
	paged := serveUpstream(t, "paged", pagedSrv,
		mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return pagedSrv }, nil))

	var rec recorder
	opts := fastOptions(t)
	opts.OnChange = rec.onChange
	d := startDiscovery(t, opts, stateful.up, stateless.up, paged.up)

	got := d.Tools()
	want := map[string][]string{
		"full":  {"add", "echo", "word_count"},
		"lite":  {"add", "echo", "word_count"},
		"paged": {"t0", "t1", "t2", "t3", "t4"},
	}
	for alias, names := range want {
		if g := toolNames(got[alias]); !slices.Equal(g, names) {
			t.Errorf("%s: tools %v, want %v", alias, g, names)
		}
	}
	for _, c := range []string{"full:3", "lite:3", "paged:5"} {
		if !rec.seen(c) {
			t.Errorf("OnChange %s not reported; got %v", c, rec.calls)
		}
	}
}

func TestDiscoverySlowUpstreamsDoNotBlock(t *testing.T) {
	good := newTestUpstream(t, "good", false)
	slow := &upstreams.Upstream{Alias: "slow", Transport: upstreams.TransportHTTP, URL: testutil.SilentURL(t)}
	down := &upstreams.Upstream{Alias: "down", Transport: upstreams.TransportHTTP, URL: refused(t)}

	opts := fastOptions(t)
	opts.Timeout = 300 * time.Millisecond
	d, err := New([]*upstreams.Upstream{slow, down, good.up}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer testutil.CheckNoLeaks(t)
	defer d.Close()

	start := time.Now()
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > opts.Timeout+200*time.Millisecond {
		t.Errorf("Start took %v with a %v timeout", el, opts.Timeout)
	}
	tools := d.Tools()
	if len(tools["good"]) != 3 {
		t.Errorf("good: %v", toolNames(tools["good"]))
	}
	if _, ok := tools["slow"]; ok {
		t.Error("slow upstream has tools")
	}
	if _, ok := tools["down"]; ok {
		t.Error("down upstream has tools")
	}

	// Calls to a dead upstream fail within the timeout, with a sentinel.
	start = time.Now()
	_, err = d.CallTool(t.Context(), "down", "echo", nil)
	if !errors.Is(err, ErrUpstreamUnavailable) {
		t.Errorf("CallTool on down upstream: %v", err)
	}
	if el := time.Since(start); el > opts.Timeout+200*time.Millisecond {
		t.Errorf("CallTool on down upstream took %v", el)
	}
	if _, err := d.CallTool(t.Context(), "nope", "echo", nil); !errors.Is(err, ErrUnknownUpstream) {
		t.Errorf("CallTool on unknown alias: %v", err)
	}
}

func TestDiscoveryFollowsListChanged(t *testing.T) {
	u := newTestUpstream(t, "a", false)
	opts := fastOptions(t)
	opts.PollInterval = -1 // prove it is the notification, not polling
	d := startDiscovery(t, opts, u.up)

	u.srv.AddTool(&mcp.Tool{Name: "late", Description: "added later", InputSchema: map[string]any{"type": "object"}},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{}, nil
		})
	testutil.Eventually(t, "late tool", func() bool { return hasTool(d, "a", "late") })
	u.srv.RemoveTools("echo")
	testutil.Eventually(t, "echo removed", func() bool { return !hasTool(d, "a", "echo") })
}

func TestDiscoveryPollsStatelessUpstream(t *testing.T) {
	u := newTestUpstream(t, "a", true)
	d := startDiscovery(t, fastOptions(t), u.up)
	u.srv.AddTool(&mcp.Tool{Name: "late", InputSchema: map[string]any{"type": "object"}},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{}, nil
		})
	testutil.Eventually(t, "late tool", func() bool { return hasTool(d, "a", "late") })
}

func TestDiscoveryLegacySSEUpstream(t *testing.T) {
	srv := demo.NewServer()
	u := serveUpstream(t, "old", srv, mcp.NewSSEHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	u.up.Transport = upstreams.TransportSSE
	opts := fastOptions(t)
	opts.PollInterval = -1
	d := startDiscovery(t, opts, u.up)
	if got := toolNames(d.Tools()["old"]); len(got) != 3 {
		t.Fatalf("tools %v", got)
	}
	res, err := d.CallTool(t.Context(), "old", "echo", map[string]any{"text": "sse"})
	if err != nil {
		t.Fatal(err)
	}
	if txt := res.Content[0].(*mcp.TextContent).Text; txt != "sse" {
		t.Errorf("echo = %q", txt)
	}
	srv.AddTool(&mcp.Tool{Name: "late", InputSchema: map[string]any{"type": "object"}},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{}, nil
		})
	testutil.Eventually(t, "late tool over SSE", func() bool { return hasTool(d, "old", "late") })
}

func TestDiscoveryCallTool(t *testing.T) {
	for _, stateless := range []bool{false, true} {
		t.Run(fmt.Sprintf("stateless=%v", stateless), func(t *testing.T) {
			u := newTestUpstream(t, "a", stateless)
			d := startDiscovery(t, fastOptions(t), u.up)
			res, err := d.CallTool(t.Context(), "a", "add", map[string]any{"a": 2, "b": 3})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(res.StructuredContent)
			if string(b) != `{"sum":5}` {
				t.Errorf("structured content %s", b)
			}
			// Raw JSON arguments pass through as they are.
			res, err = d.CallTool(t.Context(), "a", "echo", json.RawMessage(`{"text":"hi"}`))
			if err != nil {
				t.Fatal(err)
			}
			if txt := res.Content[0].(*mcp.TextContent).Text; txt != "hi" {
				t.Errorf("echo = %q", txt)
			}
			// Protocol errors come back as *jsonrpc.Error.
			_, err = d.CallTool(t.Context(), "a", "nope", nil)
			var werr *jsonrpc.Error
			if !errors.As(err, &werr) || werr.Code != jsonrpc.CodeInvalidParams {
				t.Errorf("unknown tool: %v", err)
			}
		})
	}
}

func TestDiscoveryRecoversFromSessionMissing(t *testing.T) {
	u := newTestUpstream(t, "a", false)
	d := startDiscovery(t, fastOptions(t), u.up)
	if n := u.closeSessions(); n != 1 {
		t.Fatalf("upstream had %d sessions, want 1", n)
	}
	// The call either meets the dead session (404, retried on a new one)
	// or a session discovery already replaced; it succeeds either way.
	res, err := d.CallTool(t.Context(), "a", "echo", map[string]any{"text": "again"})
	if err != nil {
		t.Fatal(err)
	}
	if txt := res.Content[0].(*mcp.TextContent).Text; txt != "again" {
		t.Errorf("echo = %q", txt)
	}
	testutil.Eventually(t, "a new upstream session", func() bool {
		n := 0
		for range u.srv.Sessions() {
			n++
		}
		return n == 1
	})
}

// TestDiscoveryRecoversFromNoValidSessionID mimics the TypeScript SDK,
// which answers 400 "No valid session ID provided" to unknown sessions.
func TestDiscoveryRecoversFromNoValidSessionID(t *testing.T) {
	u := newTestUpstream(t, "a", false)
	opts := fastOptions(t)
	opts.KeepAlive = -1 // let the call be the first to notice
	d := startDiscovery(t, opts, u.up)

	var mu sync.Mutex
	forgotten := map[string]bool{}
	for ss := range u.srv.Sessions() {
		forgotten[ss.ID()] = true
	}
	u.wrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			bad := forgotten[r.Header.Get("Mcp-Session-Id")]
			mu.Unlock()
			if !bad {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"jsonrpc":"2.0","error":{"code":-32000,"message":"Bad Request: No valid session ID provided"},"id":null}`))
		})
	})
	res, err := d.CallTool(t.Context(), "a", "echo", map[string]any{"text": "ts"})
	if err != nil {
		t.Fatal(err)
	}
	if txt := res.Content[0].(*mcp.TextContent).Text; txt != "ts" {
		t.Errorf("echo = %q", txt)
	}
}

func TestDiscoveryDropsDeadUpstreamAndRecovers(t *testing.T) {
	u := newTestUpstream(t, "a", false)
	other := newTestUpstream(t, "b", true)
	var rec recorder
	opts := fastOptions(t)
	opts.OnChange = rec.onChange
	d := startDiscovery(t, opts, u.up, other.up)

	u.stop()
	testutil.Eventually(t, "tools of the dead upstream to drop out", func() bool {
		_, ok := d.Tools()["a"]
		return !ok
	})
	if !rec.seen("a:down") {
		t.Errorf("OnChange(a, nil) not reported: %v", rec.calls)
	}
	if len(d.Tools()["b"]) != 3 {
		t.Errorf("the other upstream lost its tools")
	}
	if f := d.Failures(); f["a"] == 0 || f["b"] != 0 {
		t.Errorf("failures counted %v; want some for a, none for b", f)
	}

	u.start()
	testutil.Eventually(t, "tools to come back", func() bool { return len(d.Tools()["a"]) == 3 })
}

func TestDiscoveryLifecycle(t *testing.T) {
	u := newTestUpstream(t, "a", false)
	d, err := New([]*upstreams.Upstream{u.up, {Alias: "cmd", Transport: upstreams.TransportStdio}}, fastOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil { // before Start
		t.Fatal(err)
	}
	if err := d.Start(t.Context()); err == nil {
		t.Error("Start after Close succeeded")
	}

	if _, err := New([]*upstreams.Upstream{u.up, u.up}, Options{}); err == nil {
		t.Error("duplicate alias accepted")
	}
	if _, err := New([]*upstreams.Upstream{{Alias: "x", Transport: upstreams.TransportHTTP}}, Options{}); err == nil {
		t.Error("http upstream without url accepted")
	}

	d, err = New([]*upstreams.Upstream{u.up}, fastOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(t.Context()); err == nil {
		t.Error("second Start succeeded")
	}
	d.Close()
	d.Close()
	testutil.CheckNoLeaks(t)
	testutil.Eventually(t, "upstream session closed by Close", func() bool {
		for range u.srv.Sessions() {
			return false
		}
		return true
	})
}
