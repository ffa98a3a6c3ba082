package discovery

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/internal/testutil"
)

// richServer is a go-sdk server with tools, prompts, resources and
// templates, paged two at a time.
func richServer(name string) *mcp.Server {
	srv := mcp.NewServer(&mcp.Implementation{Name: name, Version: "1"}, &mcp.ServerOptions{PageSize: 2})
	srv.AddTool(&mcp.Tool{Name: "t", InputSchema: map[string]any{"type": "object"}},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{}, nil
		})
	for i := range 3 {
		addPrompt(srv, fmt.Sprintf("p%d", i))
		addResource(srv, fmt.Sprintf("test://r%d", i))
	}
	srv.AddResourceTemplate(&mcp.ResourceTemplate{Name: "tmpl", URITemplate: "test://template/{id}/data"},
		func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, Text: "templated"}}}, nil
		})
	return srv
}

func addPrompt(srv *mcp.Server, name string) {
	srv.AddPrompt(&mcp.Prompt{Name: name, Description: "prompt " + name},
		func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: "from " + req.Params.Name}}}}, nil
		})
}

func addResource(srv *mcp.Server, uri string) {
	srv.AddResource(&mcp.Resource{Name: uri, URI: uri, MIMEType: "text/plain"},
		func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, Text: "content of " + req.Params.URI}}}, nil
		})
}

func serveRich(t *testing.T, alias string, stateless bool) *testUpstream {
	srv := richServer(alias)
	return serveUpstream(t, alias, srv, mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{Stateless: stateless}))
}

// summary renders a listing as "tools|prompts|resources|templates".
func summary(ls *Listing) string {
	if ls == nil {
		return "down"
	}
	var tools, prompts, res, tmpl []string
	for _, x := range ls.Tools {
		tools = append(tools, x.Name)
	}
	for _, x := range ls.Prompts {
		prompts = append(prompts, x.Name)
	}
	for _, x := range ls.Resources {
		res = append(res, x.URI)
	}
	for _, x := range ls.ResourceTemplates {
		tmpl = append(tmpl, x.URITemplate)
	}
	return fmt.Sprintf("%v|%v|%v|%v", tools, prompts, res, tmpl)
}

func listingOf(d *Discovery, alias string) string { return summary(d.Listings()[alias]) }

func TestDiscoveryListsPromptsAndResources(t *testing.T) {
	rich := serveRich(t, "rich", false)
	toolsOnly := newTestUpstream(t, "demo", false)
	var mu sync.Mutex
	reported := map[string][]string{}
	opts := fastOptions(t)
	opts.OnListing = func(alias string, ls *Listing) {
		mu.Lock()
		defer mu.Unlock()
		reported[alias] = append(reported[alias], summary(ls))
	}
	d := startDiscovery(t, opts, rich.up, toolsOnly.up)

	want := map[string]string{
		// Every page, in the upstream's order.
		"rich": "[t]|[p0 p1 p2]|[test://r0 test://r1 test://r2]|[test://template/{id}/data]",
		// No prompts or resources advertised: none listed, lists empty.
		"demo": "[add echo word_count]|[]|[]|[]",
	}
	for alias, w := range want {
		if got := listingOf(d, alias); got != w {
			t.Errorf("%s: %s, want %s", alias, got, w)
		}
		mu.Lock()
		if r := reported[alias]; len(r) == 0 || r[0] != w {
			t.Errorf("%s: OnListing reported %v", alias, r)
		}
		mu.Unlock()
	}
	if caps := d.Listings()["rich"].Capabilities; caps == nil || caps.Prompts == nil || caps.Resources == nil {
		t.Errorf("capabilities %+v", caps)
	}
}

func TestDiscoveryFollowsPromptAndResourceListChanged(t *testing.T) {
	rich := serveRich(t, "rich", false)
	opts := fastOptions(t)
	opts.PollInterval = -1 // prove it is the notifications, not polling
	d := startDiscovery(t, opts, rich.up)

	addPrompt(rich.srv, "late")
	testutil.Eventually(t, "late prompt", func() bool {
		return listingOf(d, "rich") == "[t]|[late p0 p1 p2]|[test://r0 test://r1 test://r2]|[test://template/{id}/data]" ||
			listingOf(d, "rich") == "[t]|[p0 p1 p2 late]|[test://r0 test://r1 test://r2]|[test://template/{id}/data]"
	})
	rich.srv.RemoveResources("test://r1")
	rich.srv.RemoveResourceTemplates("test://template/{id}/data")
	testutil.Eventually(t, "resource and template removed", func() bool {
		ls := d.Listings()["rich"]
		return ls != nil && len(ls.Resources) == 2 && len(ls.ResourceTemplates) == 0
	})
}

func TestDiscoveryRefreshesListsOnTTL(t *testing.T) {
	// Stateless: no list_changed can arrive, only the TTL finds changes.
	rich := serveRich(t, "rich", true)
	d := startDiscovery(t, fastOptions(t), rich.up)
	addPrompt(rich.srv, "late")
	addResource(rich.srv, "test://late")
	testutil.Eventually(t, "late prompt and resource", func() bool {
		ls := d.Listings()["rich"]
		return ls != nil && len(ls.Prompts) == 4 && len(ls.Resources) == 4
	})
}

func TestDiscoveryRelistsOnReconnect(t *testing.T) {
	rich := serveRich(t, "rich", false)
	opts := fastOptions(t)
	opts.PollInterval = -1
	var mu sync.Mutex
	var reports []string
	opts.OnListing = func(alias string, ls *Listing) {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, summary(ls))
	}
	d := startDiscovery(t, opts, rich.up)
	rich.stop()
	testutil.Eventually(t, "lists of the dead upstream to drop out", func() bool { return listingOf(d, "rich") == "down" })
	// Changed while down: no notification reaches discovery.
	rich.srv.RemovePrompts("p0")
	rich.start()
	testutil.Eventually(t, "lists to come back, as they are now", func() bool {
		ls := d.Listings()["rich"]
		return ls != nil && len(ls.Prompts) == 2
	})
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(reports, "down") {
		t.Errorf("OnListing(nil) not reported: %v", reports)
	}
}

// TestDiscoveryBrokenListKeepsTools: an upstream whose prompts/list fails
// keeps its tools and resources listed.
func TestDiscoveryBrokenListKeepsTools(t *testing.T) {
	srv := richServer("broken")
	srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if method == "prompts/list" {
				return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "boom"}
			}
			return next(ctx, method, req)
		}
	})
	u := serveUpstream(t, "broken", srv, mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	d := startDiscovery(t, fastOptions(t), u.up)
	if got, want := listingOf(d, "broken"), "[t]|[]|[test://r0 test://r1 test://r2]|[test://template/{id}/data]"; got != want {
		t.Errorf("listing %s, want %s", got, want)
	}
}

func TestDiscoveryGetPromptAndReadResource(t *testing.T) {
	for _, stateless := range []bool{false, true} {
		t.Run(fmt.Sprintf("stateless=%v", stateless), func(t *testing.T) {
			rich := serveRich(t, "rich", stateless)
			d := startDiscovery(t, fastOptions(t), rich.up)
			pr, err := d.GetPrompt(t.Context(), "rich", &mcp.GetPromptParams{Name: "p1"})
			if err != nil || pr.Messages[0].Content.(*mcp.TextContent).Text != "from p1" {
				t.Fatalf("GetPrompt: %+v, %v", pr, err)
			}
			rr, err := d.ReadResource(t.Context(), "rich", &mcp.ReadResourceParams{URI: "test://template/7/data"})
			if err != nil || rr.Contents[0].Text != "templated" || rr.Contents[0].URI != "test://template/7/data" {
				t.Fatalf("ReadResource: %+v, %v", rr, err)
			}
			if _, err := d.ReadResource(t.Context(), "nope", &mcp.ReadResourceParams{URI: "x://y"}); err == nil {
				t.Error("ReadResource on an unknown upstream succeeded")
			}
		})
	}
}
