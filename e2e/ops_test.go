//go:build linux

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// opsGet GETs a path of the operations listener: its status and body (0
// and the error when it does not answer).
func opsGet(addr, path string) (int, string) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestSIGTERMDrains: `mcpgw run` given SIGTERM while an 8-second tool
// call is in flight stops accepting (readiness 503, the listener closed
// to new connections) but lets the call finish, then exits 0.
func TestSIGTERMDrains(t *testing.T) {
	bin := buildGateway(t)
	var started atomic.Int64
	srv := mcp.NewServer(&mcp.Implementation{Name: "slow", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "wait"}, func(ctx context.Context, req *mcp.CallToolRequest, in echoArgs) (*mcp.CallToolResult, any, error) {
		started.Add(1)
		select {
		case <-time.After(8 * time.Second):
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "waited " + in.Text}}}, nil, nil
	})
	upURL := serveMCP(t, srv, false)
	port, opsPort := mustFreePort(t), mustFreePort(t)
	ops := fmt.Sprintf("127.0.0.1:%d", opsPort)
	p := startRun(t, bin, gatewayConfig(upURL, port, "")+fmt.Sprintf("  ops_address: %q\n  drain_timeout: 20\n", ops))
	p.waitRunning(t)
	if code, body := opsGet(ops, "/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz of a running gateway: %d %s", code, body)
	}
	endpoint := fmt.Sprintf("http://127.0.0.1:%d/mcp", port)
	cs := connect(t, endpoint)
	type result struct {
		res *mcp.CallToolResult
		err error
	}
	done := make(chan result, 1)
	begin := time.Now()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		defer cancel()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "alpha-wait", Arguments: map[string]any{"text": "8s"}})
		done <- result{res, err}
	}()
	waitFor(t, "the call to reach the upstream", func() bool { return started.Load() == 1 })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "/readyz to say draining", func() bool {
		code, body := opsGet(ops, "/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "draining")
	})
	waitFor(t, "the listener to refuse new connections", func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case <-p.exited:
		t.Fatal("the gateway exited with the call in flight")
	default:
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("the call in flight at SIGTERM: %v", r.err)
	}
	if r.res.IsError || len(r.res.Content) == 0 || r.res.Content[0].(*mcp.TextContent).Text != "waited 8s" {
		t.Fatalf("the call in flight at SIGTERM: %+v", r.res)
	}
	if d := time.Since(begin); d < 8*time.Second {
		t.Errorf("the call took %v", d)
	}
	if code := p.waitExit(t, "SIGTERM and the drain"); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	if !strings.Contains(p.stderr.String(), "drained") {
		t.Errorf("no drain logged:\n%s", p.stderr.String())
	}
}
