package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// richUpstream is a go-sdk server (stateful) with prompts, resources, a
// resource template and completions, that records the prompts/get,
// resources/read and completion/complete it receives.
type richUpstream struct {
	URL      string
	srv      *mcp.Server
	addGreet func(name string) // adds a prompt like "greet"
	mu       sync.Mutex
	got      []string // "<method> <name or uri>"
}

func (u *richUpstream) received() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.got)
}

func startRichUpstream(t *testing.T) *richUpstream {
	t.Helper()
	u := &richUpstream{}
	srv := mcp.NewServer(&mcp.Implementation{Name: "rich", Version: "1"}, &mcp.ServerOptions{
		CompletionHandler: func(_ context.Context, req *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
			return &mcp.CompleteResult{Completion: mcp.CompletionResultDetails{
				Values: []string{req.Params.Argument.Value + "-one", req.Params.Argument.Value + "-two"}, Total: 2}}, nil
		},
	})
	addGreet := func(name string) {
		srv.AddPrompt(&mcp.Prompt{Name: name, Arguments: []*mcp.PromptArgument{{Name: "who", Required: true}}},
			func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
				return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{Role: "user",
					Content: &mcp.TextContent{Text: req.Params.Name + " " + req.Params.Arguments["who"]}}}}, nil
			})
	}
	addGreet("greet")
	read := func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, MIMEType: "text/plain", Text: "read " + req.Params.URI}}}, nil
	}
	srv.AddResource(&mcp.Resource{Name: "doc", URI: "test://doc", MIMEType: "text/plain"}, read)
	srv.AddResourceTemplate(&mcp.ResourceTemplate{Name: "item", URITemplate: "test://items/{id}"}, read)
	srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			var what string
			switch p := req.GetParams().(type) {
			case *mcp.GetPromptParams:
				what = p.Name
			case *mcp.ReadResourceParams:
				what = p.URI
			case *mcp.CompleteParams:
				what = p.Ref.Name + p.Ref.URI
			default:
				return next(ctx, method, req)
			}
			u.mu.Lock()
			u.got = append(u.got, method+" "+what)
			u.mu.Unlock()
			return next(ctx, method, req)
		}
	})
	u.srv = srv
	u.URL = serveMCP(t, srv, false)
	u.addGreet = addGreet
	return u
}

// TestPromptsAndResources lists, gets and reads prompts and resources of
// two upstreams through Envoy on the aggregated endpoint, with prefixed
// names and encoded URIs, and on narrower scopes.
func TestPromptsAndResources(t *testing.T) {
	rich := startRichUpstream(t)
	alpha := startUpstream(t, "alpha", false, "echo") // tools only
	gw := gatewayUnder(t, configFor(map[string]string{"rich": rich.URL, "alpha": alpha.URL}))
	base := strings.TrimSuffix(gw.Endpoint, "/mcp")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	changed := make(chan string, 16)
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, &mcp.ClientOptions{
		PromptListChangedHandler:   func(context.Context, *mcp.PromptListChangedRequest) { changed <- "prompts" },
		ResourceListChangedHandler: func(context.Context, *mcp.ResourceListChangedRequest) { changed <- "resources" },
	})
	open := func(path string) *mcp.ClientSession {
		cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: base + path, MaxRetries: -1},
			&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cs.Close() })
		return cs
	}

	cs := open("/mcp")
	caps := cs.InitializeResult().Capabilities
	if caps.Tools == nil || caps.Prompts == nil || !caps.Prompts.ListChanged || caps.Resources == nil || !caps.Resources.ListChanged {
		t.Errorf("/mcp capabilities: %+v", caps)
	}
	prompts, err := cs.ListPrompts(ctx, nil)
	if err != nil || len(prompts.Prompts) != 1 || prompts.Prompts[0].Name != "rich-greet" {
		t.Fatalf("prompts/list: %+v, %v", prompts, err)
	}
	res, err := cs.ListResources(ctx, nil)
	if err != nil || len(res.Resources) != 1 || res.Resources[0].URI != "mcpgw://rich/test://doc" || res.Resources[0].Name != "rich-doc" {
		t.Fatalf("resources/list: %+v, %v", res, err)
	}
	tmpl, err := cs.ListResourceTemplates(ctx, nil)
	if err != nil || len(tmpl.ResourceTemplates) != 1 || tmpl.ResourceTemplates[0].URITemplate != "mcpgw://rich/test://items/{id}" {
		t.Fatalf("resources/templates/list: %+v, %v", tmpl, err)
	}

	got, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "rich-greet", Arguments: map[string]string{"who": "envoy"}})
	if err != nil || got.Messages[0].Content.(*mcp.TextContent).Text != "greet envoy" {
		t.Fatalf("prompts/get: %+v, %v", got, err)
	}
	for uri, want := range map[string]string{
		"mcpgw://rich/test://doc":             "read test://doc",
		"mcpgw://rich/test://items/a%20b%2Fc": "read test://items/a%20b%2Fc", // an expanded template, byte for byte
	} {
		rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
		if err != nil || rr.Contents[0].Text != want {
			t.Fatalf("resources/read %s: %+v, %v", uri, rr, err)
		}
		// The contents name the URI the client read, not the upstream's.
		if rr.Contents[0].URI != uri {
			t.Errorf("resources/read %s: contents URI %q", uri, rr.Contents[0].URI)
		}
	}
	// The upstream got its own name and URIs, and the bytes went through
	// Envoy to its cluster (discovery, the sidecar's fallback, reaches
	// upstreams directly).
	if got, want := rich.received(), []string{"prompts/get greet", "resources/read test://doc", "resources/read test://items/a%20b%2Fc"}; !sameSet(got, want) {
		t.Errorf("upstream received %q, want %q", got, want)
	}
	waitFor(t, "three requests to mcp_upstream_rich in the access log", func() bool {
		b, _ := os.ReadFile(gw.AccessLogPath)
		return strings.Count(string(b), "mcp_upstream_rich") >= 3
	})
	// Names and URIs that resolve to no upstream in scope are the
	// gateway's to refuse; others are the upstream's to answer.
	for _, bad := range []string{"greet", "nosuch-greet"} {
		if _, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: bad}); err == nil || !strings.Contains(err.Error(), "Unknown prompt: "+bad) {
			t.Errorf("prompts/get %s: %v", bad, err)
		}
	}
	if _, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "alpha-greet"}); err == nil || !strings.Contains(err.Error(), `unknown prompt "greet"`) {
		t.Errorf("prompts/get alpha-greet: %v", err)
	}
	for _, bad := range []string{"test://doc", "mcpgw://nosuch/test://doc"} {
		if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: bad}); err == nil || !strings.Contains(err.Error(), "Unknown resource: "+bad) {
			t.Errorf("resources/read %s: %v", bad, err)
		}
	}

	// A scope without the rich upstream offers neither.
	narrow := open("/mcp/alpha")
	if c := narrow.InitializeResult().Capabilities; c.Prompts != nil || c.Resources != nil {
		t.Errorf("/mcp/alpha capabilities: %+v", c)
	}
	if p, err := narrow.ListPrompts(ctx, nil); err != nil || len(p.Prompts) != 0 {
		t.Errorf("/mcp/alpha prompts: %+v, %v", p, err)
	}
	if _, err := narrow.ReadResource(ctx, &mcp.ReadResourceParams{URI: "mcpgw://rich/test://doc"}); err == nil {
		t.Error("/mcp/alpha read a resource of rich")
	}

	// The single-server endpoint uses the upstream's own names and URIs.
	single := open("/rich/mcp")
	if p, err := single.ListPrompts(ctx, nil); err != nil || len(p.Prompts) != 1 || p.Prompts[0].Name != "greet" {
		t.Errorf("/rich/mcp prompts: %+v, %v", p, err)
	}
	if rr, err := single.ReadResource(ctx, &mcp.ReadResourceParams{URI: "test://items/7"}); err != nil || rr.Contents[0].Text != "read test://items/7" {
		t.Errorf("/rich/mcp read: %+v, %v", rr, err)
	}

	// A new upstream prompt reaches clients as list_changed, then listed.
	rich.addGreet("welcome")
	waitFor(t, "notifications/prompts/list_changed", func() bool {
		for {
			select {
			case kind := <-changed:
				if kind == "prompts" {
					return true
				}
			default:
				return false
			}
		}
	})
	p, err := cs.ListPrompts(ctx, nil)
	if err != nil || len(p.Prompts) != 2 {
		t.Fatalf("prompts after list_changed: %+v, %v", p, err)
	}

	// A TypeScript client (Inspector CLI) reads an encoded URI too.
	if cli := os.Getenv("MCPGW_INSPECTOR_CLI"); cli != "" {
		ictx, icancel := context.WithTimeout(ctx, 30*time.Second)
		defer icancel()
		cmd := exec.CommandContext(ictx, cli, "--cli", gw.Endpoint, "--transport", "http",
			"--method", "resources/read", "--uri", "mcpgw://rich/test://items/42")
		cmd.Dir = filepath.Dir(filepath.Dir(cli)) // see TestInspectorCLI
		out, err := cmd.Output()
		if err != nil || !strings.Contains(string(out), "read test://items/42") {
			t.Errorf("inspector resources/read: %v\n%s", err, out)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestCompletionsOnEveryScope: completion/complete reaches the upstream
// its ref names, with the upstream's own prompt name or URI template, on
// the aggregate, a server list and the server's own endpoint; clients are
// told completions exist when an upstream in scope offers them.
func TestCompletionsOnEveryScope(t *testing.T) {
	rich := startRichUpstream(t)
	alpha := startUpstream(t, "alpha", false, "echo") // no completions
	gw := gatewayUnder(t, configFor(map[string]string{"rich": rich.URL, "alpha": alpha.URL}))
	base := strings.TrimSuffix(gw.Endpoint, "/mcp")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, tc := range []struct {
		path, prompt, template string
		completions            bool
	}{
		{"/mcp", "rich-greet", "mcpgw://rich/test://items/{id}", true},
		{"/mcp/rich,alpha", "rich-greet", "mcpgw://rich/test://items/{id}", true},
		{"/rich/mcp", "greet", "test://items/{id}", true},
		{"/mcp/alpha", "", "", false},
	} {
		cs := connect(t, base+tc.path)
		if got := cs.InitializeResult().Capabilities.Completions != nil; got != tc.completions {
			t.Fatalf("%s: completions capability %v, want %v", tc.path, got, tc.completions)
		}
		if !tc.completions {
			continue
		}
		res, err := cs.Complete(ctx, &mcp.CompleteParams{
			Ref:      &mcp.CompleteReference{Type: "ref/prompt", Name: tc.prompt},
			Argument: mcp.CompleteParamsArgument{Name: "who", Value: "en"},
		})
		if err != nil || !slices.Equal(res.Completion.Values, []string{"en-one", "en-two"}) {
			t.Fatalf("%s: complete prompt %s: %+v, %v", tc.path, tc.prompt, res, err)
		}
		res, err = cs.Complete(ctx, &mcp.CompleteParams{
			Ref:      &mcp.CompleteReference{Type: "ref/resource", URI: tc.template},
			Argument: mcp.CompleteParamsArgument{Name: "id", Value: "4"},
		})
		if err != nil || len(res.Completion.Values) != 2 {
			t.Fatalf("%s: complete template %s: %+v, %v", tc.path, tc.template, res, err)
		}
	}
	want := []string{"completion/complete greet", "completion/complete test://items/{id}"}
	for _, got := range rich.received() {
		if !slices.Contains(want, got) {
			t.Errorf("upstream received %q; only its own names were expected (%q)", got, want)
		}
	}
	if n := len(rich.received()); n != 6 {
		t.Errorf("upstream received %d completions, want 6", n)
	}
	// A prompt of another upstream, or none: refused like prompts/get.
	cs := connect(t, base+"/mcp")
	_, err := cs.Complete(ctx, &mcp.CompleteParams{Ref: &mcp.CompleteReference{Type: "ref/prompt", Name: "nosuch-greet"},
		Argument: mcp.CompleteParamsArgument{Name: "who", Value: "x"}})
	if err == nil || !strings.Contains(err.Error(), "Unknown prompt: nosuch-greet") {
		t.Errorf("completion for an unknown prompt: %v", err)
	}
}
