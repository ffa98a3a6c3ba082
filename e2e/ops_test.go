//go:build linux

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/internal/gateway"
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

// metricSeries reads the samples of name from a Prometheus text
// exposition: each with its labels.
func metricSeries(text, name string) []struct {
	labels map[string]string
	value  float64
} {
	var out []struct {
		labels map[string]string
		value  float64
	}
	label := regexp.MustCompile(`(\w+)="([^"]*)"`)
	for line := range strings.Lines(text) {
		rest, ok := strings.CutPrefix(line, name+"{")
		if !ok {
			continue
		}
		labels, value, _ := strings.Cut(rest, "} ")
		s := struct {
			labels map[string]string
			value  float64
		}{labels: map[string]string{}}
		for _, m := range label.FindAllStringSubmatch(labels, -1) {
			s.labels[m[1]] = m[2]
		}
		s.value, _ = strconv.ParseFloat(strings.TrimSpace(value), 64)
		out = append(out, s)
	}
	return out
}

// requestCount sums mcp_server_operation_duration_seconds_count over the
// series whose labels include want.
func requestCount(text string, want map[string]string) float64 {
	var n float64
	for _, s := range metricSeries(text, "mcp_server_operation_duration_seconds_count") {
		match := true
		for k, v := range want {
			if s.labels[k] != v {
				match = false
			}
		}
		if match {
			n += s.value
		}
	}
	return n
}

// echoFailUpstream serves alpha's echo and fail (a tool result with
// isError), statefully: a call without a client session then leases an
// upstream session, and the gateway reads its answer, so it sees isError
// (docs/operations.md).
func echoFailUpstream(t *testing.T) string {
	t.Helper()
	srv := mcp.NewServer(&mcp.Implementation{Name: "alpha", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "echo"}, func(ctx context.Context, req *mcp.CallToolRequest, in echoArgs) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: in.Text}}}, nil, nil
	})
	mcp.AddTool(srv, &mcp.Tool{Name: "fail"}, func(ctx context.Context, req *mcp.CallToolRequest, in echoArgs) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: "it failed"}}}, nil, nil
	})
	return serveMCP(t, srv, false)
}

// TestMetricsThroughEnvoy: real calls through Envoy move the request
// metrics by method, server and outcome: an allowed call, a tool error
// (isError, on a call whose answer the gateway reads), a denied request
// and an upstream that cannot be reached; policy decisions and Envoy's
// own statistics are on the same listener.
func TestMetricsThroughEnvoy(t *testing.T) {
	upURL := echoFailUpstream(t)
	down, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downURL := "http://" + down.Addr().String() + "/mcp"
	down.Close() // nothing listens there
	const master = "sk-master-0123456789"
	cfg := fmt.Sprintf("general_settings:\n  master_key: %s\nmcp_servers:\n  alpha:\n    url: %q\n  down:\n    url: %q\ngateway:\n  metrics_tool_label: true\n", master, upURL, downURL)
	inst, _ := startGateway(t, cfg, gateway.Options{Port: mustFreePort(t)})
	key := map[string]string{"x-litellm-api-key": "Bearer " + master, "MCP-Protocol-Version": "2025-06-18"}
	call := func(tool string) (int, string) {
		code, _, body := post(t, inst.Endpoint, []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"`+tool+`","arguments":{"text":"hi"}}}`), key)
		return code, body
	}
	for range 2 {
		if code, body := call("alpha-echo"); code != http.StatusOK || !strings.Contains(body, "hi") {
			t.Fatalf("alpha-echo: %d %s", code, body)
		}
	}
	if code, body := call("alpha-fail"); code != http.StatusOK || !strings.Contains(body, `"isError":true`) {
		t.Fatalf("alpha-fail: %d %s", code, body)
	}
	if code, _, body := post(t, inst.Endpoint, []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`), nil); code != http.StatusUnauthorized {
		t.Fatalf("no key: %d %s", code, body)
	}
	if code, body := call("down-anything"); code != http.StatusBadGateway {
		t.Fatalf("down-anything: %d %s", code, body)
	}

	code, text := opsGet(inst.OpsAddr, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for _, c := range []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"mcp_method_name": "tools/call", "server": "alpha", "gen_ai_tool_name": "echo", "outcome": "ok"}, 2},
		{map[string]string{"mcp_method_name": "tools/call", "server": "alpha", "gen_ai_tool_name": "fail", "outcome": "tool_error"}, 1},
		{map[string]string{"outcome": "denied"}, 1},
		{map[string]string{"mcp_method_name": "tools/call", "server": "down", "outcome": "upstream_failure"}, 1},
	} {
		if got := requestCount(text, c.labels); got != c.want {
			t.Errorf("requests %v = %v, want %v", c.labels, got, c.want)
		}
	}
	allowed := metricSeries(text, "mcpgw_policy_decisions_total")
	var allows float64
	for _, s := range allowed {
		if s.labels["decision"] == "allow" {
			allows = s.value
		}
	}
	if allows < 3 {
		t.Errorf("policy allow decisions = %v, want at least 3", allows)
	}
	if !strings.Contains(text, "mcpgw_upstream_sessions_open ") {
		t.Error("no mcpgw_upstream_sessions_open")
	}
	if code, envoyText := opsGet(inst.OpsAddr, "/metrics/envoy"); code != http.StatusOK || !strings.Contains(envoyText, "envoy_cluster_upstream_rq_total") {
		t.Errorf("/metrics/envoy: %d", code)
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", text)
	}
}
