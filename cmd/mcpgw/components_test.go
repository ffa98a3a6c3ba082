package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpgw/mcpgw/internal/testutil"
	"github.com/mcpgw/mcpgw/upstreams/demo"
)

func opsGet(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// componentConfig writes a config with one HTTP server at url.
func componentConfig(t *testing.T, url string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, fmt.Appendf(nil, "mcp_servers:\n  demo:\n    url: %q\n    transport: http\n", url), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startComponent runs `mcpgw <args>` in this process until the test ends.
func startComponent(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	stderr := &testutil.SyncBuffer{}
	go func() { done <- run(ctx, args, io.Discard, stderr) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("mcpgw %s: exit %d\n%s", args[0], code, stderr)
		}
		if t.Failed() {
			t.Logf("mcpgw %s:\n%s", args[0], stderr)
		}
	})
}

// TestSidecarOpsListener: `mcpgw sidecar -ops-listen` serves /readyz
// from the start, not ready until the first discovery is done (an
// upstream holding its answer), then ready; /metrics has the sidecar's
// discovery failures.
func TestSidecarOpsListener(t *testing.T) {
	release := make(chan struct{})
	h := demo.Handler(false)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		h.ServeHTTP(w, r)
	}))
	// Cleanups run last first: the sidecar stops before the upstream
	// (whose Close waits for the sidecar's open streams).
	t.Cleanup(up.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	ops := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	startComponent(t, "sidecar", "-config", componentConfig(t, up.URL+"/mcp"),
		"-listen", fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t)), "-ops-listen", ops)

	testutil.Eventually(t, "/readyz: first discovery not done", func() bool {
		code, body := opsGet("http://" + ops + "/readyz")
		return code == http.StatusServiceUnavailable && body == "not ready:\nsidecar: first discovery not done\n"
	})
	if code, body := opsGet("http://" + ops + "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz while discovering: %d %q", code, body)
	}
	close(release)
	testutil.Eventually(t, "/readyz ready", func() bool {
		code, body := opsGet("http://" + ops + "/readyz")
		return code == http.StatusOK && body == "ready\n"
	})
	if code, body := opsGet("http://" + ops + "/metrics"); code != http.StatusOK || !strings.Contains(body, `mcpgw_upstream_discovery_failures_total{server="demo"} 0`) {
		t.Errorf("/metrics: %d %.300s", code, body)
	}
}

// TestExtProcOpsListener: `mcpgw extproc -ops-listen` is ready once its
// gRPC service serves (asked on loopback when it listens on 0.0.0.0)
// and exports the ext_proc service's metrics; a bad address is refused
// naming the flag.
func TestExtProcOpsListener(t *testing.T) {
	cfg := componentConfig(t, "http://127.0.0.1:1/mcp")
	ops := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	startComponent(t, "extproc", "-config", cfg, "-listen", fmt.Sprintf("0.0.0.0:%d", testutil.FreePort(t)), "-ops-listen", ops)
	testutil.Eventually(t, "/readyz ready", func() bool {
		code, body := opsGet("http://" + ops + "/readyz")
		return code == http.StatusOK && body == "ready\n"
	})
	if code, body := opsGet("http://" + ops + "/metrics"); code != http.StatusOK || !strings.Contains(body, `mcpgw_client_sessions_total{event="started"} 0`) {
		t.Errorf("/metrics: %d %.300s", code, body)
	}

	code, _, stderr := runCmd("extproc", "-config", cfg, "-listen", "127.0.0.1:0", "-ops-listen", "not-an-address")
	if code == 0 || !strings.Contains(stderr, "-ops-listen") {
		t.Errorf("bad -ops-listen: exit %d, %q", code, stderr)
	}
}

// The fast path's module: a named file must be there; "none" and no
// module beside the binary mean Envoy's Lua filter.
func TestFastPathModule(t *testing.T) {
	so := filepath.Join(t.TempDir(), moduleFile)
	if err := os.WriteFile(so, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flag, env, want string
		err             bool
	}{
		{flag: so, want: so},
		{env: so, want: so},
		{flag: "none", env: so, want: ""},
		{flag: filepath.Join(t.TempDir(), "missing.so"), err: true},
		{want: ""}, // no module beside the test binary
	} {
		t.Setenv("MCPGW_FAST_PATH_MODULE", tc.env)
		got, err := fastPathModule(tc.flag)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("fastPathModule(%q) with $MCPGW_FAST_PATH_MODULE=%q = %q, %v; want %q, error %v", tc.flag, tc.env, got, err, tc.want, tc.err)
		}
	}
}
