package aggregate

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/internal/testutil"
	"github.com/mcpgw/mcpgw/upstreams"
)

// countInitialize counts the initialize requests srv receives.
func countInitialize(srv *mcp.Server) *atomic.Int64 {
	var n atomic.Int64
	srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if method == "initialize" {
				n.Add(1)
			}
			return next(ctx, method, req)
		}
	})
	return &n
}

func registry(t *testing.T, ups ...*upstreams.Upstream) *namespace.Registry {
	t.Helper()
	var aliases []string
	for _, u := range ups {
		aliases = append(aliases, u.Alias)
	}
	reg, err := namespace.NewRegistry(aliases, namespace.DefaultSeparator)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// Update adds and removes servers while a client's session is open: the
// client hears tools/list_changed on its GET stream, lists the new set
// and cannot call a removed server's tools; the unchanged server keeps
// its discovery session.
func TestUpdateServers(t *testing.T) {
	alpha, beta, gamma := newUpstream(t, "alpha", false), newUpstream(t, "beta", false), newUpstream(t, "gamma", true)
	alphaInits := countInitialize(alpha.srv)
	s, endpoint := sidecarFor(t, Options{}, alpha.up, beta.up)

	changed := make(chan struct{}, 10)
	cs := connect(t, endpoint, &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { changed <- struct{}{} },
	}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if names := listNames(t, cs); len(names) != 6 {
		t.Fatalf("tools = %v", names)
	}
	// The GET stream is open once the client's first notification can
	// arrive; an idle update would otherwise race it.
	time.Sleep(200 * time.Millisecond)

	same := *alpha.up // equal values: the same server
	next := []*upstreams.Upstream{&same, gamma.up}
	if err := s.Update(t.Context(), registry(t, next...), next); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("no tools/list_changed after the update")
	}
	want := append(prefixedDemo("alpha"), prefixedDemo("gamma")...)
	slices.Sort(want)
	testutil.Eventually(t, "the new set listed", func() bool {
		names := listNames(t, cs)
		slices.Sort(names)
		return slices.Equal(names, want)
	})
	res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "gamma-echo", Arguments: map[string]any{"text": "new"}})
	if err != nil || res.Content[0].(*mcp.TextContent).Text != "new" {
		t.Fatalf("added server's tool: %v %v", res, err)
	}
	_, err = cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "beta-echo", Arguments: map[string]any{"text": "x"}})
	if err == nil || !strings.Contains(err.Error(), "Unknown tool: beta-echo") {
		t.Errorf("removed server's tool: %v, want unknown tool", err)
	}
	if n := alphaInits.Load(); n != 1 {
		t.Errorf("the unchanged server saw %d initialize requests, want its discovery session kept", n)
	}

	// A registry that does not name an upstream is refused; nothing changes.
	if err := s.Update(t.Context(), registry(t, alpha.up), next); err == nil {
		t.Fatal("upstream missing from the registry accepted")
	}
	if names := listNames(t, cs); len(names) != len(want) {
		t.Fatalf("a refused update changed the lists: %v", names)
	}
}
