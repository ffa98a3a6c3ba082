package aggregate

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/internal/testutil"
	"github.com/mcpgw/mcpgw/upstreams"
)

// richUpstream is a go-sdk server with prompts, resources and a template
// (and one tool), stateful, on httptest.
func richUpstream(t *testing.T, alias string) *upstream {
	t.Helper()
	srv := mcp.NewServer(&mcp.Implementation{Name: alias, Version: "1"}, &mcp.ServerOptions{PageSize: 2})
	srv.AddTool(&mcp.Tool{Name: "t", InputSchema: map[string]any{"type": "object"}},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{}, nil
		})
	for _, name := range []string{"p0", "p1", "has space"} {
		addPrompt(srv, name)
	}
	for i := range 3 {
		uri := fmt.Sprintf("test://r%d", i)
		srv.AddResource(&mcp.Resource{Name: fmt.Sprintf("r%d", i), URI: uri, MIMEType: "text/plain"}, readText)
	}
	srv.AddResourceTemplate(&mcp.ResourceTemplate{Name: "tmpl", URITemplate: "test://template/{id}/data"}, readText)
	ts := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	t.Cleanup(func() {
		ts.CloseClientConnections()
		ts.Close()
	})
	return &upstream{srv: srv, ts: ts, up: &upstreams.Upstream{
		Alias: alias, Transport: upstreams.TransportHTTP, URL: mustURL(t, ts.URL+"/mcp"), Cluster: upstreams.ClusterName(alias),
	}}
}

func addPrompt(srv *mcp.Server, name string) {
	srv.AddPrompt(&mcp.Prompt{Name: name, Description: "prompt " + name,
		Arguments: []*mcp.PromptArgument{{Name: "who"}}},
		func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			text := fmt.Sprintf("%s for %s", req.Params.Name, req.Params.Arguments["who"])
			return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: text}}}}, nil
		})
}

func readText(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, MIMEType: "text/plain", Text: "text of " + req.Params.URI}}}, nil
}

func connectPath(t *testing.T, endpoint, path string, copts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	return connect(t, strings.TrimSuffix(endpoint, "/mcp")+path, copts, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
}

// lists returns prompt names, resource URIs and template URIs a session
// sees, following the gateway's cursor through every page.
func lists(t *testing.T, cs *mcp.ClientSession) (prompts, resources, templates []string) {
	t.Helper()
	for p, err := range cs.Prompts(t.Context(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		prompts = append(prompts, p.Name)
	}
	for r, err := range cs.Resources(t.Context(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		resources = append(resources, r.URI)
	}
	for r, err := range cs.ResourceTemplates(t.Context(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		templates = append(templates, r.URITemplate)
	}
	return prompts, resources, templates
}

func TestPromptsAndResourcesFollowTheScope(t *testing.T) {
	rich := richUpstream(t, "rich")
	plain := newUpstream(t, "plain", false) // tools only
	_, endpoint := sidecarFor(t, Options{PageSize: 2}, rich.up, plain.up, deadUpstream(t, "dead"))

	tests := []struct {
		path                 string
		prompts, res, tmpl   []string
		promptCap, resCap    bool
		resourceName0, getAs string
	}{
		{
			path:      "/mcp",
			prompts:   []string{"rich-p0", "rich-p1"}, // "rich-has space" is no valid name
			res:       []string{"mcpgw://rich/test://r0", "mcpgw://rich/test://r1", "mcpgw://rich/test://r2"},
			tmpl:      []string{"mcpgw://rich/test://template/{id}/data"},
			promptCap: true, resCap: true, resourceName0: "rich-r0", getAs: "rich-p1",
		},
		{
			path:      "/rich/mcp",
			prompts:   []string{"has space", "p0", "p1"},
			res:       []string{"test://r0", "test://r1", "test://r2"},
			tmpl:      []string{"test://template/{id}/data"},
			promptCap: true, resCap: true, resourceName0: "r0", getAs: "p1",
		},
		{path: "/plain/mcp"},
		{path: "/mcp/plain,dead"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			cs := connectPath(t, endpoint, tt.path, nil)
			caps := cs.InitializeResult().Capabilities
			if (caps.Prompts != nil) != tt.promptCap || (caps.Resources != nil) != tt.resCap || caps.Tools == nil {
				t.Errorf("capabilities %+v", caps)
			}
			if caps.Prompts != nil && !caps.Prompts.ListChanged || caps.Resources != nil && (!caps.Resources.ListChanged || caps.Resources.Subscribe) {
				t.Errorf("capabilities %+v %+v", caps.Prompts, caps.Resources)
			}
			// Logging is passed through only on a single server's endpoint
			// (the rich upstream has it, plain does not).
			//lint:ignore SA1019 logging: still in the protocol versions before 2026-07-28 we serve
			if logging := caps.Logging; (logging != nil) != (tt.path == "/rich/mcp") {
				t.Errorf("logging capability %+v", logging)
			}
			prompts, res, tmpl := lists(t, cs)
			slices.Sort(prompts)
			if !slices.Equal(prompts, tt.prompts) || !slices.Equal(res, tt.res) || !slices.Equal(tmpl, tt.tmpl) {
				t.Errorf("lists %q %q %q", prompts, res, tmpl)
			}
			if len(res) == 0 {
				return
			}
			r, err := cs.ListResources(t.Context(), nil)
			if err != nil || r.Resources[0].Name != tt.resourceName0 || r.NextCursor == "" {
				t.Errorf("first page %+v, %v", r, err)
			}
			// Reading and getting with the names and URIs as listed (the
			// sidecar's fallback; through Envoy the router sends these to
			// the upstream with the same rules).
			got, err := cs.GetPrompt(t.Context(), &mcp.GetPromptParams{Name: tt.getAs, Arguments: map[string]string{"who": "me"}})
			if err != nil || got.Messages[0].Content.(*mcp.TextContent).Text != "p1 for me" {
				t.Errorf("GetPrompt(%s) = %+v, %v", tt.getAs, got, err)
			}
			rr, err := cs.ReadResource(t.Context(), &mcp.ReadResourceParams{URI: res[1]})
			if err != nil || rr.Contents[0].Text != "text of test://r1" || rr.Contents[0].URI != res[1] {
				t.Errorf("ReadResource(%s) = %+v, %v (contents must name the URI as read)", res[1], rr, err)
			}
			expanded := strings.Replace(tmpl[0], "{id}", "42", 1)
			rr, err = cs.ReadResource(t.Context(), &mcp.ReadResourceParams{URI: expanded})
			if err != nil || rr.Contents[0].Text != "text of test://template/42/data" || rr.Contents[0].URI != expanded {
				t.Errorf("ReadResource(%s) = %+v, %v", expanded, rr, err)
			}
		})
	}
}

func TestUnknownPromptsAndResources(t *testing.T) {
	rich := richUpstream(t, "rich")
	plain := newUpstream(t, "plain", false)
	_, endpoint := sidecarFor(t, Options{}, rich.up, plain.up)
	cs := connectPath(t, endpoint, "/mcp/plain", nil)
	for _, name := range []string{"rich-p0", "p0", "nosuch-p0"} {
		if _, err := cs.GetPrompt(t.Context(), &mcp.GetPromptParams{Name: name}); err == nil || !strings.Contains(err.Error(), "Unknown prompt") {
			t.Errorf("GetPrompt(%s) out of scope: %v", name, err)
		}
	}
	for _, uri := range []string{"mcpgw://rich/test://r0", "test://r0"} {
		if _, err := cs.ReadResource(t.Context(), &mcp.ReadResourceParams{URI: uri}); err == nil || !strings.Contains(err.Error(), "Unknown resource") {
			t.Errorf("ReadResource(%s) out of scope: %v", uri, err)
		}
	}
	if _, err := cs.ListPrompts(t.Context(), &mcp.ListPromptsParams{Cursor: "garbage"}); err == nil || !strings.Contains(err.Error(), "invalid cursor") {
		t.Errorf("bad cursor: %v", err)
	}
}

func TestPromptAndResourceListChanged(t *testing.T) {
	rich := richUpstream(t, "rich")
	s, endpoint := sidecarFor(t, Options{}, rich.up)
	prompts := make(chan struct{}, 8)
	resources := make(chan struct{}, 8)
	cs := connectPath(t, endpoint, "/mcp", &mcp.ClientOptions{
		PromptListChangedHandler:   func(context.Context, *mcp.PromptListChangedRequest) { prompts <- struct{}{} },
		ResourceListChangedHandler: func(context.Context, *mcp.ResourceListChangedRequest) { resources <- struct{}{} },
	})
	testutil.Eventually(t, "the client's event stream", func() bool {
		s.notify.mu.Lock()
		defer s.notify.mu.Unlock()
		return len(s.notify.subs) == 1
	})
	addPrompt(rich.srv, "late")
	testutil.Eventually(t, "late prompt listed", func() bool {
		p, _, _ := lists(t, cs)
		return slices.Contains(p, "rich-late")
	})
	waitSignal(t, prompts, "notifications/prompts/list_changed")
	rich.srv.RemoveResourceTemplates("test://template/{id}/data")
	testutil.Eventually(t, "template gone", func() bool {
		_, _, tmpl := lists(t, cs)
		return len(tmpl) == 0
	})
	waitSignal(t, resources, "notifications/resources/list_changed")
}

func waitSignal(t *testing.T, ch chan struct{}, what string) {
	t.Helper()
	testutil.Eventually(t, what, func() bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	})
}

// TestModernClientSeesMergedCapabilities: 2026-07-28 clients learn the
// capabilities from server/discover, which is merged the same way.
func TestModernClientSeesMergedCapabilities(t *testing.T) {
	rich := richUpstream(t, "rich")
	plain := newUpstream(t, "plain", false)
	_, endpoint := sidecarFor(t, Options{}, rich.up, plain.up)
	for path, want := range map[string]bool{"/mcp": true, "/plain/mcp": false} {
		cs := connect(t, strings.TrimSuffix(endpoint, "/mcp")+path, nil, nil) // go-sdk's default: 2026-07-28
		ir := cs.InitializeResult()
		if ir.ProtocolVersion != "2026-07-28" {
			t.Fatalf("%s: negotiated %s", path, ir.ProtocolVersion)
		}
		if got := ir.Capabilities.Prompts != nil && ir.Capabilities.Resources != nil; got != want || ir.Capabilities.Tools == nil {
			t.Errorf("%s: capabilities %+v", path, ir.Capabilities)
		}
		p, _, _ := lists(t, cs)
		if (len(p) > 0) != want {
			t.Errorf("%s: prompts %v", path, p)
		}
	}
}
