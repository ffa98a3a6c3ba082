package aggregate

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/internal/testutil"
	"github.com/mcpgw/mcpgw/internal/wellknown"
	"github.com/mcpgw/mcpgw/upstreams"
)

var demoTools = []string{"add", "echo", "word_count"}

func prefixedDemo(aliases ...string) []string {
	var names []string
	for _, a := range aliases {
		for _, n := range demoTools {
			names = append(names, a+"-"+n)
		}
	}
	slices.Sort(names)
	return names
}

func TestAggregatesUpstreams(t *testing.T) {
	alpha := newUpstream(t, "alpha", false)
	beta := newUpstream(t, "beta", true)
	timeout := 300 * time.Millisecond

	start := time.Now()
	_, endpoint := sidecarFor(t, Options{DiscoveryTimeout: timeout},
		alpha.up, deadUpstream(t, "down"), silentUpstream(t, "slow"), beta.up)
	if el := time.Since(start); el > timeout+300*time.Millisecond {
		t.Errorf("Start took %v with a %v discovery timeout", el, timeout)
	}

	cs := connect(t, endpoint, nil, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	names := listNames(t, cs)
	slices.Sort(names)
	if want := prefixedDemo("alpha", "beta"); !slices.Equal(names, want) {
		t.Errorf("tools = %v, want %v", names, want)
	}

	// Everything but the name is the upstream's, unchanged.
	direct := connect(t, alpha.ts.URL, nil, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	upTools, err := direct.ListTools(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	viaGW, err := cs.ListTools(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ut := range upTools.Tools {
		i := slices.IndexFunc(viaGW.Tools, func(gt *mcp.Tool) bool { return gt.Name == "alpha-"+ut.Name })
		if i < 0 {
			t.Errorf("alpha-%s missing", ut.Name)
			continue
		}
		gt := *viaGW.Tools[i]
		gt.Name = ut.Name
		want, _ := json.Marshal(ut)
		got, _ := json.Marshal(&gt)
		if string(got) != string(want) {
			t.Errorf("tool %s changed on the way:\n got %s\nwant %s", ut.Name, got, want)
		}
	}
}

func TestProtocolVersions(t *testing.T) {
	alpha := newUpstream(t, "alpha", false)
	_, endpoint := sidecarFor(t, Options{Version: "1.2.3"}, alpha.up)

	// go-sdk's default: 2026-07-28 with server/discover, no sessions.
	modern := connect(t, endpoint, nil, nil)
	if v := modern.InitializeResult().ProtocolVersion; v != "2026-07-28" || modern.ID() != "" {
		t.Errorf("default client: version %q session %q, want 2026-07-28 without a session", v, modern.ID())
	}
	if names := listNames(t, modern); len(names) != 3 {
		t.Errorf("tools at 2026-07-28 = %v", names)
	}

	cs := connect(t, endpoint, nil, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	ir := cs.InitializeResult()
	if ir.ProtocolVersion != "2025-11-25" {
		t.Errorf("negotiated %q, want 2025-11-25", ir.ProtocolVersion)
	}
	if ir.ServerInfo.Name != Name || ir.ServerInfo.Version != "1.2.3" {
		t.Errorf("server info %+v", ir.ServerInfo)
	}
	if ir.Capabilities.Tools == nil || !ir.Capabilities.Tools.ListChanged {
		t.Errorf("tools capability %+v, want listChanged", ir.Capabilities.Tools)
	}
	if cs.ID() == "" {
		t.Error("no session id issued")
	}
	if names := listNames(t, cs); len(names) != 3 {
		t.Errorf("tools = %v", names)
	}

	// Older clients get their own version.
	for _, v := range []string{"2025-06-18", "2025-03-26"} {
		old := connect(t, endpoint, nil, &mcp.ClientSessionOptions{ProtocolVersion: v})
		if got := old.InitializeResult().ProtocolVersion; got != v {
			t.Errorf("client at %s negotiated %s", v, got)
		}
	}
}

// TestSessionHTTPBehaviour pins what the gateway relies on from go-sdk's
// stateful handler: a proxied Host is accepted, an unknown session id is
// 404, DELETE ends a session.
func TestSessionHTTPBehaviour(t *testing.T) {
	_, endpoint := sidecarFor(t, Options{}, newUpstream(t, "alpha", false).up)
	post := func(sessionID, body string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(body))
		req.Host = "gateway.example.com" // as Envoy forwards it
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if sessionID != "" {
			req.Header.Set("Mcp-Session-Id", sessionID)
			req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	resp := post("", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("initialize with a non-loopback Host: %d", resp.StatusCode)
	}
	id := resp.Header.Get("Mcp-Session-Id")
	if id == "" {
		t.Fatal("no Mcp-Session-Id on initialize")
	}
	io.Copy(io.Discard, resp.Body)

	if resp := post("no-such-session", `{"jsonrpc":"2.0","id":2,"method":"ping"}`); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown session: %d, want 404", resp.StatusCode)
	}

	req, _ := http.NewRequest(http.MethodDelete, endpoint, nil)
	req.Header.Set("Mcp-Session-Id", id)
	dresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	dresp.Body.Close()
	if dresp.StatusCode != http.StatusNoContent {
		t.Errorf("DELETE: %d, want 204", dresp.StatusCode)
	}
	if resp := post(id, `{"jsonrpc":"2.0","id":3,"method":"ping"}`); resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleted session: %d, want 404", resp.StatusCode)
	}
}

func TestFollowsUpstreamChanges(t *testing.T) {
	alpha := newUpstream(t, "alpha", false)
	beta := newUpstream(t, "beta", true)
	_, endpoint := sidecarFor(t, Options{}, alpha.up, beta.up)

	changed := make(chan struct{}, 10)
	cs := connect(t, endpoint, &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { changed <- struct{}{} },
	}, nil)
	if names := listNames(t, cs); len(names) != 6 {
		t.Fatalf("tools = %v", names)
	}

	alpha.srv.AddTool(&mcp.Tool{Name: "late", Description: "added after start", InputSchema: map[string]any{"type": "object"}},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "late"}}}, nil
		})
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("no tools/list_changed from the sidecar")
	}
	testutil.Eventually(t, "alpha-late listed", func() bool { return slices.Contains(listNames(t, cs), "alpha-late") })

	// A dead upstream's tools drop out; the other's stay.
	alpha.ts.CloseClientConnections()
	alpha.ts.Close()
	testutil.Eventually(t, "alpha's tools to drop out", func() bool {
		names := listNames(t, cs)
		slices.Sort(names)
		return slices.Equal(names, prefixedDemo("beta"))
	})
}

func TestSkipsToolsItCannotServe(t *testing.T) {
	bad := newUpstream(t, "a", false)
	// go-sdk refuses to register such tools, so inject them into the
	// upstream's tools/list answer, as a non-go-sdk server could send them.
	bad.srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			res, err := next(ctx, method, req)
			if lr, ok := res.(*mcp.ListToolsResult); ok && err == nil {
				lr.Tools = append(slices.Clone(lr.Tools),
					&mcp.Tool{Name: "string_schema", InputSchema: map[string]any{"type": "string"}},
					&mcp.Tool{Name: "untyped_schema", InputSchema: map[string]any{"properties": map[string]any{}}},
					&mcp.Tool{Name: "bad/name", InputSchema: map[string]any{"type": "object"}},
					&mcp.Tool{Name: strings.Repeat("x", 127), InputSchema: map[string]any{"type": "object"}},
					&mcp.Tool{Name: "b-c", InputSchema: map[string]any{"type": "object"}}, // a-b-c belongs to alias a-b
				)
			}
			return res, err
		}
	})
	other := newUpstream(t, "a-b", true)
	reg, err := namespace.NewRegistry([]string{"a", "a-b"}, "-")
	if err != nil {
		t.Fatal(err)
	}
	s, endpoint := sidecarFor(t, Options{Registry: reg}, bad.up, other.up)

	names := listNames(t, connect(t, endpoint, nil, nil))
	slices.Sort(names)
	want := append(prefixedDemo("a"), prefixedDemo("a-b")...)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("tools = %v\nwant %v", names, want)
	}
	if got := s.cat.served(); !slices.Equal(got, want) {
		t.Errorf("catalog = %v", got)
	}
}

func TestFallbackToolsCall(t *testing.T) {
	alpha := newUpstream(t, "alpha", false)
	alpha.srv.AddTool(&mcp.Tool{Name: "fails", InputSchema: map[string]any{"type": "object"}},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return nil, &jsonrpc.Error{Code: -32042, Message: "upstream says no"}
		})
	beta := newUpstream(t, "beta", true)
	_, endpoint := sidecarFor(t, Options{}, alpha.up, beta.up)
	legacy := &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"}
	cs := connect(t, endpoint, nil, legacy)

	res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "alpha-add", Arguments: map[string]any{"a": 2, "b": 40}})
	if err != nil {
		t.Fatal(err)
	}
	direct := connect(t, alpha.ts.URL, nil, legacy)
	want, err := direct.CallTool(t.Context(), &mcp.CallToolParams{Name: "add", Arguments: map[string]any{"a": 2, "b": 40}})
	if err != nil {
		t.Fatal(err)
	}
	gotJSON, _ := json.Marshal(res)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("result via sidecar %s, direct %s", gotJSON, wantJSON)
	}

	res, err = cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "beta-echo", Arguments: map[string]any{"text": "hi"}})
	if err != nil {
		t.Fatal(err)
	}
	if txt := res.Content[0].(*mcp.TextContent).Text; txt != "hi" {
		t.Errorf("beta-echo = %q", txt)
	}

	// Bad input is the upstream's to judge: a tool error, as direct.
	res, err = cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "beta-add", Arguments: map[string]any{"a": "x"}})
	if err != nil || !res.IsError {
		t.Errorf("bad input: %v, %+v", err, res)
	}

	_, err = cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "alpha-fails"})
	var werr *jsonrpc.Error
	if !errors.As(err, &werr) || werr.Code != -32042 || werr.Message != "upstream says no" {
		t.Errorf("upstream error came back as %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	up := &upstreams.Upstream{Alias: "a", Transport: upstreams.TransportHTTP, URL: mustURL(t, "http://127.0.0.1:1/")}
	reg, _ := namespace.NewRegistry([]string{"b"}, "-")
	if _, err := New(Options{Upstreams: []*upstreams.Upstream{up}}); err == nil {
		t.Error("no registry accepted")
	}
	if _, err := New(Options{Upstreams: []*upstreams.Upstream{up}, Registry: reg}); err == nil {
		t.Error("alias missing from registry accepted")
	}
}

func TestCloseEndsClientStreams(t *testing.T) {
	alpha := newUpstream(t, "alpha", false)
	reg, _ := namespace.NewRegistry([]string{"alpha"}, "-")
	s, err := New(Options{Upstreams: []*upstreams.Upstream{alpha.up}, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s.Handler()}
	ts := httptestServer(t, srv)
	cs := connect(t, ts+"/mcp", nil, nil) // opens the standalone GET stream
	var wg sync.WaitGroup
	wg.Go(func() { cs.Wait() })

	srv.RegisterOnShutdown(func() { s.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v (client streams kept it waiting)", err)
	}
	cs.Close()
	wg.Wait()
	testutil.CheckNoLeaks(t)
}

// TestHealthPath: the sidecar answers Envoy's health check 200 while it
// serves and 503 once it is closing; other methods on the path are MCP's.
func TestHealthPath(t *testing.T) {
	done := make(chan struct{})
	var passed int
	h := withHealth(done, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { passed++ }))
	get := func(method string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, wellknown.SidecarHealthPath, nil))
		return rec.Code
	}
	if got := get(http.MethodGet); got != http.StatusOK {
		t.Errorf("serving: %d", got)
	}
	get(http.MethodPost)
	if passed != 1 {
		t.Errorf("POST on the health path reached MCP %d times, want 1", passed)
	}
	close(done)
	if got := get(http.MethodGet); got != http.StatusServiceUnavailable {
		t.Errorf("closing: %d", got)
	}
}
