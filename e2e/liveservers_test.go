package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/upstreams/demo"
)

// stdioDemoEnv makes the test binary the demo MCP server over stdio
// instead of running the tests (a stdio server the tests add live).
const stdioDemoEnv = "MCPGW_E2E_STDIO_DEMO"

func TestMain(m *testing.M) {
	if os.Getenv(stdioDemoEnv) == "" {
		os.Exit(m.Run())
	}
	demo.NewServer().Run(context.Background(), &mcp.StdioTransport{})
	os.Exit(0)
}

// TestLiveServers edits the config file of a running gateway: a stdio
// server and a Streamable HTTP server added are announced to an open
// client session (tools/list_changed on its GET stream), listed and
// callable through Envoy (their clusters and routes come over xDS);
// removed, their tools are gone, calls to them are refused like unknown
// tools, and the stdio server's process ends. The HTTP server configured
// at start is untouched throughout.
func TestLiveServers(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	marker := fmt.Sprintf("live-stdio-%d", time.Now().UnixNano())
	base := fmt.Sprintf("mcp_servers:\n  wiki:\n    url: %q\n", rawUpstream(t, "wiki", "read"))
	withLocal := base + fmt.Sprintf("  local:\n    transport: stdio\n    command: %q\n    args: [%q]\n    env:\n      %s: \"1\"\n", exe, marker, stdioDemoEnv) +
		fmt.Sprintf("  notes:\n    url: %q\n", rawUpstream(t, "notes", "find"))
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(base), 0o600); err != nil {
		t.Fatal(err)
	}
	gw, _ := gatewayFromFile(t, cfgPath)

	changed := make(chan struct{}, 10)
	c := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { changed <- struct{}{} },
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: gw.Endpoint, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	tools := func() []string {
		var names []string
		for tool, err := range cs.Tools(ctx, nil) {
			if err != nil {
				t.Fatalf("tools/list: %v", err)
			}
			names = append(names, tool.Name)
		}
		slices.Sort(names)
		return names
	}
	if got := tools(); !slices.Equal(got, []string{"wiki-read"}) {
		t.Fatalf("tools at start: %v", got)
	}
	drain := func() {
		for len(changed) > 0 {
			<-changed
		}
	}
	awaitChanged := func(what string) {
		t.Helper()
		select {
		case <-changed:
		case <-time.After(30 * time.Second):
			t.Fatalf("no tools/list_changed after %s", what)
		}
	}

	// Added.
	drain()
	if err := os.WriteFile(cfgPath, []byte(withLocal), 0o600); err != nil {
		t.Fatal(err)
	}
	awaitChanged("adding a stdio server")
	waitFor(t, "the added servers' tools", func() bool {
		got := tools()
		return slices.Contains(got, "local-echo") && slices.Contains(got, "notes-find")
	})
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "local-echo", Arguments: map[string]any{"text": "live"}})
	if err != nil || len(res.Content) == 0 || res.Content[0].(*mcp.TextContent).Text != "live" {
		t.Fatalf("local-echo: %+v, %v", res, err)
	}
	// Routed by Envoy to the cluster it got over xDS.
	if status, body := callTool(t, gw.Endpoint, "", "notes-find", `{}`); status != 200 || !strings.Contains(body, "notes:find") {
		t.Errorf("the HTTP server added live: %d %s", status, body)
	}
	if pids := childPIDs(t, marker); len(pids) != 1 {
		t.Fatalf("stdio server processes: %v", pids)
	}
	if status, body := callTool(t, gw.Endpoint, "", "wiki-read", `{}`); status != 200 || !strings.Contains(body, "wiki:read") {
		t.Errorf("the server configured at start: %d %s", status, body)
	}

	// Removed.
	drain()
	if err := os.WriteFile(cfgPath, []byte(base), 0o600); err != nil {
		t.Fatal(err)
	}
	awaitChanged("removing the stdio server")
	waitFor(t, "the stdio server's tools to go", func() bool { return !slices.Contains(tools(), "local-echo") })
	if got := tools(); !slices.Equal(got, []string{"wiki-read"}) {
		t.Errorf("tools after the removal: %v", got)
	}
	_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "local-echo", Arguments: map[string]any{"text": "gone"}})
	if err == nil || !strings.Contains(err.Error(), "Unknown tool: local-echo") {
		t.Errorf("call to a removed server's tool: %v", err)
	}
	if status, body := callTool(t, gw.Endpoint, "", "notes-find", `{}`); !strings.Contains(body, "Unknown tool: notes-find") {
		t.Errorf("call to the removed HTTP server: %d %s", status, body)
	}
	waitFor(t, "the stdio server's process to end", func() bool { return len(childPIDs(t, marker)) == 0 })
	if status, body := callTool(t, gw.Endpoint, "", "wiki-read", `{}`); status != 200 || !strings.Contains(body, "wiki:read") {
		t.Errorf("the server configured at start, after the removal: %d %s", status, body)
	}
}
