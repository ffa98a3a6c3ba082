package stdio

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/internal/testutil"
)

// serverEnv makes the test binary act as a stdio MCP server (see
// testServer) instead of running the tests.
const serverEnv = "MCPGW_STDIO_TEST_SERVER"

func TestMain(m *testing.M) {
	switch os.Getenv(serverEnv) {
	case "":
		os.Exit(m.Run())
	case "fail":
		fmt.Fprintln(os.Stderr, "test server refusing to start")
		os.Exit(7)
	default:
		testServer()
		os.Exit(0)
	}
}

type textArgs struct {
	Text string `json:"text,omitempty"`
	MS   int    `json:"ms,omitempty"`
}

// testServer serves tools that exercise supervision: echo, pid, env,
// crash, spawn (a grandchild), slow (reports peak concurrency) and
// stderr.
func testServer() {
	srv := mcp.NewServer(&mcp.Implementation{Name: "stdio-test", Version: "1"}, nil)
	text := func(s string) *mcp.CallToolResult {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}}
	}
	add := func(name string, h func(textArgs) string) {
		mcp.AddTool(srv, &mcp.Tool{Name: name, Description: name},
			func(_ context.Context, _ *mcp.CallToolRequest, in textArgs) (*mcp.CallToolResult, any, error) {
				return text(h(in)), nil, nil
			})
	}
	var inflight, peak atomic.Int64
	add("echo", func(in textArgs) string { return in.Text })
	add("pid", func(textArgs) string { return fmt.Sprint(os.Getpid()) })
	add("env", func(textArgs) string {
		names := os.Environ()
		slices.Sort(names)
		b, _ := json.Marshal(names)
		return string(b)
	})
	add("crash", func(textArgs) string { os.Exit(3); return "" })
	add("spawn", func(textArgs) string {
		cmd := exec.Command("sleep", "300")
		cmd.Stderr = os.Stderr // holds the stderr pipe open, too
		if err := cmd.Start(); err != nil {
			return err.Error()
		}
		return fmt.Sprint(cmd.Process.Pid)
	})
	add("slow", func(in textArgs) string {
		n := inflight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(time.Duration(in.MS) * time.Millisecond)
		inflight.Add(-1)
		return fmt.Sprint(peak.Load())
	})
	add("stderr", func(in textArgs) string {
		fmt.Fprintln(os.Stderr, in.Text)
		return "ok"
	})
	_ = srv.Run(context.Background(), &mcp.StdioTransport{})
}

// callText calls tool through s for key and returns its text.
func callText(ctx context.Context, s *Server, key, tool string, args map[string]any) (string, error) {
	var out string
	err := s.Do(ctx, key, func(ctx context.Context, cs *mcp.ClientSession) error {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
		if err != nil {
			return err
		}
		if res.IsError {
			return fmt.Errorf("tool error: %v", res.Content)
		}
		out = res.Content[0].(*mcp.TextContent).Text
		return nil
	})
	return out, err
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || (s[i+2] != 'Z' && s[i+2] != 'X')
}

func newTextLogger(w *testutil.SyncBuffer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
