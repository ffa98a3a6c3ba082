package adapter

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/openapi/petstore"
)

// serve runs a Set for ups on a loopback HTTP server and returns the
// endpoint URL of each alias.
func serve(t *testing.T, ups ...*upstreams.Upstream) map[string]string {
	t.Helper()
	set, err := New(Options{
		Upstreams: ups,
		RetryMin:  200 * time.Millisecond,
		RetryMax:  time.Second,
		LookupEnv: func(n string) (string, bool) {
			if n == "PATH" {
				return os.Getenv("PATH"), true
			}
			return "", false
		},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(set.Handler())
	t.Cleanup(func() {
		set.Close()
		srv.Close()
	})
	if err := set.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	bound, err := upstreams.BindAdapters(ups, strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, u := range bound {
		out[u.Alias] = u.URL.String()
	}
	return out
}

func connect(t *testing.T, endpoint string) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connect %s: %v", endpoint, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func names(t *testing.T, cs *mcp.ClientSession) []string {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var out []string
	for _, tool := range res.Tools {
		out = append(out, tool.Name)
	}
	slices.Sort(out)
	return out
}

func callText(cs *mcp.ClientSession, tool string, args map[string]any) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return "", err
	}
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n"), nil
}

func stdioUpstream(t *testing.T, alias string, mode upstreams.SessionMode) *upstreams.Upstream {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return &upstreams.Upstream{Alias: alias, Transport: upstreams.TransportStdio, Adapter: &upstreams.Adapter{
		Kind: upstreams.AdapterStdio, Command: exe, Env: map[string]string{serverEnv: "1"},
		SessionMode: mode, Startup: upstreams.StartupLazy,
	}}
}

func TestStdioShared(t *testing.T) {
	ep := serve(t, stdioUpstream(t, "local", upstreams.SessionShared))["local"]
	if !strings.HasSuffix(ep, "/adapters/local/mcp") {
		t.Fatalf("endpoint %s", ep)
	}
	a, b := connect(t, ep), connect(t, ep)
	if got := names(t, a); !slices.Equal(got, []string{"crash", "echo", "pid"}) {
		t.Fatalf("tools = %v", got)
	}
	if got, err := callText(a, "echo", map[string]any{"text": "hi"}); err != nil || got != "hi" {
		t.Fatalf("echo = %q, %v", got, err)
	}
	pa, _ := callText(a, "pid", nil)
	pb, _ := callText(b, "pid", nil)
	if pa != pb || pa == "" {
		t.Errorf("shared mode: sessions got processes %s and %s", pa, pb)
	}
	// A crash fails the call in flight and, until the restart, every call
	// with a clear error; then the server is back.
	if _, err := callText(a, "crash", nil); err == nil || !strings.Contains(err.Error(), "stdio server local exited: exit status 5 during the request") {
		t.Fatalf("crash: %v", err)
	}
	if _, err := callText(b, "echo", map[string]any{"text": "x"}); err == nil || !strings.Contains(err.Error(), "stdio server local is unavailable (exited: exit status 5); restarting in") {
		t.Fatalf("during backoff: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := callText(b, "echo", map[string]any{"text": "back"})
		if err == nil && got == "back" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A stdio server's prompts, resources and resource templates are served
// beside its tools, and their requests reach the process.
func TestStdioPromptsAndResources(t *testing.T) {
	for _, mode := range []upstreams.SessionMode{upstreams.SessionShared, upstreams.SessionPerClient} {
		t.Run(string(mode), func(t *testing.T) {
			cs := connect(t, serve(t, stdioUpstream(t, "local", mode))["local"])
			ctx := context.Background()
			caps := cs.InitializeResult().Capabilities
			if caps.Prompts == nil || caps.Resources == nil || caps.Tools == nil || caps.Completions == nil {
				t.Fatalf("capabilities %+v", caps)
			}
			done, err := cs.Complete(ctx, &mcp.CompleteParams{Ref: &mcp.CompleteReference{Type: "ref/prompt", Name: "greet"},
				Argument: mcp.CompleteParamsArgument{Name: "who", Value: "ga"}})
			if err != nil || len(done.Completion.Values) != 1 || done.Completion.Values[0] != "greet:ga" {
				t.Fatalf("completion/complete: %v %+v", err, done)
			}
			prompts, err := cs.ListPrompts(ctx, nil)
			if err != nil || len(prompts.Prompts) != 1 || prompts.Prompts[0].Name != "greet" || len(prompts.Prompts[0].Arguments) != 1 {
				t.Fatalf("prompts/list: %v %+v", err, prompts)
			}
			got, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "greet", Arguments: map[string]string{"who": "gateway"}})
			if err != nil || len(got.Messages) != 1 || got.Messages[0].Content.(*mcp.TextContent).Text != "hello gateway" {
				t.Fatalf("prompts/get: %v %+v", err, got)
			}
			res, err := cs.ListResources(ctx, nil)
			if err != nil || len(res.Resources) != 1 || res.Resources[0].URI != "test://static" {
				t.Fatalf("resources/list: %v %+v", err, res)
			}
			tmpl, err := cs.ListResourceTemplates(ctx, nil)
			if err != nil || len(tmpl.ResourceTemplates) != 1 || tmpl.ResourceTemplates[0].URITemplate != "test://items/{id}" {
				t.Fatalf("resources/templates/list: %v %+v", err, tmpl)
			}
			for _, uri := range []string{"test://static", "test://items/42"} {
				read, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
				if err != nil || len(read.Contents) != 1 || read.Contents[0].Text != "contents of "+uri {
					t.Fatalf("resources/read %s: %v %+v", uri, err, read)
				}
			}
			if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "test://nowhere"}); err == nil {
				t.Fatal("resources/read of an unknown URI succeeded")
			}
		})
	}
}

func TestStdioPerSession(t *testing.T) {
	ep := serve(t, stdioUpstream(t, "local", upstreams.SessionPerClient))["local"]
	a, b := connect(t, ep), connect(t, ep)
	names(t, a)
	pa, err := callText(a, "pid", nil)
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := callText(b, "pid", nil)
	if pa == pb {
		t.Fatalf("per_session: both sessions on process %s", pa)
	}
	// Ending the session (DELETE) stops its process.
	a.Close()
	deadline := time.Now().Add(10 * time.Second)
	for processAlive(pa) {
		if time.Now().After(deadline) {
			t.Fatalf("process %s of the closed session still runs", pa)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !processAlive(pb) {
		t.Errorf("the other session's process %s died", pb)
	}
}

func processAlive(pid string) bool {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func TestOpenAPI(t *testing.T) {
	store := petstore.New()
	mux := http.NewServeMux()
	mux.Handle("/api/v3/", http.StripPrefix("/api/v3", store))
	api := httptest.NewServer(mux)
	defer api.Close()
	up := &upstreams.Upstream{Alias: "petstore", Transport: upstreams.TransportHTTP, Adapter: &upstreams.Adapter{
		Kind: upstreams.AdapterOpenAPI, SpecPath: "../openapi/testdata/petstore-openapi3.yaml",
		Source: api.URL + "/api/v3", Headers: map[string]string{"X-API-Key": "k1"},
	}}
	cs := connect(t, serve(t, up)["petstore"])
	if got := names(t, cs); len(got) != 19 || !slices.Contains(got, "getpetbyid") {
		t.Fatalf("tools = %v", got)
	}
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "getpetbyid", Arguments: map[string]any{"petId": "1"}})
	if err != nil || res.IsError {
		t.Fatalf("getpetbyid: %v %+v", err, res)
	}
	sc, _ := json.Marshal(res.StructuredContent)
	if !strings.Contains(string(sc), `"name":"doggie"`) || store.Last().Header.Get("X-Api-Key") != "k1" {
		t.Errorf("structured %s, key %q", sc, store.Last().Header.Get("X-Api-Key"))
	}
	res, err = cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "getpetbyid", Arguments: map[string]any{"petId": 404}})
	if err != nil || !res.IsError || !strings.Contains(res.Content[0].(*mcp.TextContent).Text, "HTTP 404 Not Found") {
		t.Errorf("missing pet: %v %+v", err, res)
	}
	list, _ := cs.ListTools(context.Background(), nil)
	for _, tool := range list.Tools {
		if tool.Name == "getpetbyid" && (tool.Annotations == nil || !tool.Annotations.ReadOnlyHint) {
			t.Errorf("getpetbyid annotations %+v", tool.Annotations)
		}
	}
}

func TestOpenAPISpecMissing(t *testing.T) {
	up := &upstreams.Upstream{Alias: "gone", Transport: upstreams.TransportHTTP, Adapter: &upstreams.Adapter{
		Kind: upstreams.AdapterOpenAPI, SpecPath: "testdata/no-such-spec.yaml", Source: "http://127.0.0.1:1",
	}}
	cs := connect(t, serve(t, up)["gone"])
	_, err := cs.ListTools(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "openapi server gone: cannot list tools: openapi server gone: read spec: open") {
		t.Fatalf("list = %v", err)
	}
}

// TestLegacySSE bridges a go-sdk server speaking the 2024-11-05 HTTP+SSE
// transport.
func TestLegacySSE(t *testing.T) {
	legacy := mcp.NewServer(&mcp.Implementation{Name: "legacy", Version: "1"}, nil)
	var gotKey atomic.Value
	mcp.AddTool(legacy, &mcp.Tool{Name: "echo", Description: "echo"},
		func(_ context.Context, req *mcp.CallToolRequest, in struct {
			Text string `json:"text"`
		}) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "legacy:" + in.Text}}}, nil, nil
		})
	legacy.AddPrompt(&mcp.Prompt{Name: "old-greet"}, func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: "hello from 2024"}}}}, nil
	})
	legacy.AddResource(&mcp.Resource{URI: "old://readme", Name: "readme"}, func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, Text: "legacy readme"}}}, nil
	})
	h := mcp.NewSSEHandler(func(*http.Request) *mcp.Server { return legacy }, nil)
	ls := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			gotKey.Store(r.Header.Get("X-Api-Key"))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ls.Close) // after the adapters (cleanups run last first): the event stream is open
	up := &upstreams.Upstream{Alias: "old", Transport: upstreams.TransportSSE, Adapter: &upstreams.Adapter{
		Kind: upstreams.AdapterSSE, Source: ls.URL + "/sse", Headers: map[string]string{"X-Api-Key": "k2"},
	}}
	cs := connect(t, serve(t, up)["old"])
	var got []string
	deadline := time.Now().Add(10 * time.Second)
	for len(got) == 0 && time.Now().Before(deadline) {
		if res, err := cs.ListTools(context.Background(), nil); err == nil {
			for _, tl := range res.Tools {
				got = append(got, tl.Name)
			}
		}
		if len(got) == 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !slices.Equal(got, []string{"echo"}) {
		t.Fatalf("tools = %v", got)
	}
	if text, err := callText(cs, "echo", map[string]any{"text": "hi"}); err != nil || text != "legacy:hi" {
		t.Fatalf("echo = %q, %v", text, err)
	}
	if gotKey.Load() != "k2" {
		t.Errorf("legacy server got X-Api-Key %v", gotKey.Load())
	}
	// Its prompts and resources are bridged too; completions, which it
	// does not offer, are not declared.
	if caps := cs.InitializeResult().Capabilities; caps.Completions != nil || caps.Prompts == nil || caps.Resources == nil {
		t.Errorf("capabilities %+v", caps)
	}
	ctx := context.Background()
	if p, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "old-greet"}); err != nil || p.Messages[0].Content.(*mcp.TextContent).Text != "hello from 2024" {
		t.Errorf("prompts/get: %v %+v", err, p)
	}
	if r, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "old://readme"}); err != nil || r.Contents[0].Text != "legacy readme" {
		t.Errorf("resources/read: %v %+v", err, r)
	}
	if l, err := cs.ListResources(ctx, nil); err != nil || len(l.Resources) != 1 {
		t.Errorf("resources/list: %v %+v", err, l)
	}
}

func TestUnknownAdapterPath(t *testing.T) {
	set, _ := New(Options{})
	for _, p := range []string{"/adapters/nope/mcp", "/mcp", "/adapters/x"} {
		rec := httptest.NewRecorder()
		set.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, p, nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d", p, rec.Code)
		}
	}
}
