package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestLegacySSEClient: a client that only speaks the legacy HTTP+SSE
// transport lists and calls through the gateway at /sse (every server,
// prefixed) and /<alias>/sse (one server, its own names).
func TestLegacySSEClient(t *testing.T) {
	alpha := startUpstream(t, "alpha", false, "echo")
	beta := startUpstream(t, "beta", true, "echo")
	gw := gatewayUnder(t, configFor(map[string]string{"alpha": alpha.URL, "beta": beta.URL}))
	base := strings.TrimSuffix(gw.Endpoint, "/mcp")
	for _, tc := range []struct {
		path  string
		tools []string
		call  string
		want  string
	}{
		{"/sse", []string{"alpha-echo", "beta-echo"}, "beta-echo", "beta:echo:sse"},
		{"/alpha/sse", []string{"echo"}, "echo", "alpha:echo:sse"},
		{"/mcp/beta/sse", []string{"beta-echo"}, "beta-echo", "beta:echo:sse"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c := mcp.NewClient(&mcp.Implementation{Name: "legacy", Version: "1"}, nil)
			cs, err := c.Connect(ctx, &mcp.SSEClientTransport{Endpoint: base + tc.path}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			var names []string
			waitFor(t, "tools over legacy SSE", func() bool {
				res, err := cs.ListTools(ctx, nil)
				if err != nil {
					t.Fatalf("tools/list: %v", err)
				}
				names = names[:0]
				for _, tool := range res.Tools {
					names = append(names, tool.Name)
				}
				slices.Sort(names)
				return slices.Equal(names, tc.tools)
			})
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tc.call, Arguments: map[string]any{"text": "sse"}})
			if err != nil || res.IsError || res.Content[0].(*mcp.TextContent).Text != tc.want {
				t.Fatalf("call %s: %+v %v", tc.call, res, err)
			}
		})
	}
}
