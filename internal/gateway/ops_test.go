package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/internal/testutil"
	"github.com/mcpgw/mcpgw/upstreams/demo"
)

func TestAnyHealthyHost(t *testing.T) {
	clusters := `mcpgw_ext_proc::observability_name::mcpgw_ext_proc
mcpgw_ext_proc::127.0.0.1:40001::health_flags::/failed_active_hc
mcpgw_ext_proc::127.0.0.1:40002::health_flags::healthy
mcpgw_sidecar::127.0.0.1:40003::health_flags::/failed_active_hc/active_hc_timeout
mcpgw_sidecar_x::127.0.0.1:40004::health_flags::healthy
`
	if !anyHealthyHost(clusters, "mcpgw_ext_proc") {
		t.Error("ext_proc has a healthy host")
	}
	if anyHealthyHost(clusters, "mcpgw_sidecar") {
		t.Error("the sidecar's only host failed its health check (another cluster's name starts like it)")
	}
	if anyHealthyHost(clusters, "mcpgw_xds") {
		t.Error("a cluster that is not there")
	}
}

// startTestInstance starts a gateway with real Envoy in front of the demo
// server, for the operations tests.
func startTestInstance(t *testing.T, extra string) (*Instance, *testutil.SyncBuffer) {
	t.Helper()
	up := httptest.NewServer(demo.Handler(false))
	t.Cleanup(up.Close)
	return startInstance(t, fmt.Sprintf("mcp_servers:\n  demo:\n    url: %q\n    transport: http\ngateway:\n  drain_timeout: 5\n%s", up.URL+"/mcp", extra))
}

// startInstance starts a gateway on yamlText with real Envoy ($ENVOY_BIN;
// skipped without it unless MCPGW_REQUIRE_ENVOY=1), closed when the test
// ends; its logs are printed when the test fails.
func startInstance(t *testing.T, yamlText string) (*Instance, *testutil.SyncBuffer) {
	t.Helper()
	bin := testutil.EnvoyBin(t)
	cfg, err := configfile.Parse([]byte(yamlText), "test.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	rt, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testutil.SyncBuffer{}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	inst, err := Start(ctx, rt, Options{
		EnvoyBin: bin, Port: testutil.FreePort(t), EnvoyOutput: logs,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatalf("start: %v\n%s", err, logs)
	}
	t.Cleanup(func() {
		inst.Close()
		if t.Failed() {
			t.Logf("logs:\n%s", logs)
		}
	})
	return inst, logs
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReadinessFollowsExtProc: the gateway is ready once started; with
// its ext_proc service gone, Envoy's health check marks the cluster
// unhealthy, /readyz and the listener's ready path say 503, and MCP
// requests still fail closed. A drain turns both 503 too.
func TestReadinessFollowsExtProc(t *testing.T) {
	inst, _ := startTestInstance(t, "")
	ops := "http://" + inst.OpsAddr
	listener := fmt.Sprintf("http://127.0.0.1:%d", inst.Port)
	if code, body := get(t, ops+HealthzPath); code != http.StatusOK {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	eventually(t, "/readyz 200", func() bool { code, _ := get(t, ops+ReadyzPath); return code == http.StatusOK })
	if code, body := get(t, listener+"/readyz"); code != http.StatusOK {
		t.Fatalf("listener /readyz: %d %s", code, body)
	}
	if code, body := get(t, ops+EnvoyMetricsPath); code != http.StatusOK || !strings.Contains(body, "envoy_cluster_upstream_rq_total") {
		t.Errorf("/metrics/envoy: %d %.200s", code, body)
	}

	inst.Replicas[0].stopExtProc()
	eventually(t, "/readyz 503 naming ext_proc", func() bool {
		code, body := get(t, ops+ReadyzPath)
		return code == http.StatusServiceUnavailable && strings.Contains(body, "mcpgw_ext_proc")
	})
	if code, _ := get(t, listener+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("listener /readyz with ext_proc down: %d", code)
	}
	resp, err := http.Post(listener+"/mcp", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 500 {
		t.Errorf("an MCP request with ext_proc down: %d, want it failed closed (5xx)", resp.StatusCode)
	}
	// A list too, though the sidecar decides lists Envoy sends it
	// directly (direct lists): it follows its ext_proc service.
	req, _ := http.NewRequest(http.MethodPost, listener+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 500 {
		t.Errorf("a tools/list with ext_proc down: %d, want it failed closed (5xx)", resp.StatusCode)
	}
}

// TestDrainStopsAccepting: a drain with nothing in flight returns at
// once, /readyz says draining, the listener's ready path 503, and the
// listener no longer accepts connections.
func TestDrainStopsAccepting(t *testing.T) {
	inst, _ := startTestInstance(t, "")
	ops := "http://" + inst.OpsAddr
	eventually(t, "/readyz 200", func() bool { code, _ := get(t, ops+ReadyzPath); return code == http.StatusOK })
	start := time.Now()
	if n := inst.Drain(t.Context(), 5*time.Second); n != 0 {
		t.Errorf("drain left %d in flight", n)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("an idle drain took %v", d)
	}
	if code, body := get(t, ops+ReadyzPath); code != http.StatusServiceUnavailable || !strings.Contains(body, "draining") {
		t.Errorf("/readyz while draining: %d %s", code, body)
	}
	eventually(t, "the listener to refuse connections", func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", inst.Port), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
}
