package envoy

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/internal/testutil"
)

// writeConfig writes a bootstrap into the test's temp dir.
func writeConfig(t *testing.T, yaml []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "envoy.yaml")
	if err := os.WriteFile(path, yaml, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startEnvoy runs Envoy on the rendered config until the test ends and
// waits for admin /ready. Envoy's log is printed if the test fails.
func startEnvoy(t *testing.T, p Params) {
	t.Helper()
	bin := testutil.EnvoyBin(t)
	cfg, err := Render(p)
	if err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	// Envoy flushes access logs every 10s unless told otherwise; there is
	// no bootstrap field for it, only this flag.
	cmd := exec.CommandContext(ctx, bin, "-c", path,
		"--disable-hot-restart", "--concurrency", "1", "--log-level", "warn",
		"--file-flush-interval-msec", "100")
	var out testutil.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 2 * time.Second
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start envoy: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cancel() // SIGKILL; nothing to drain in a test
		<-exited
		if t.Failed() {
			t.Logf("envoy output:\n%s", out.String())
		}
	})

	ready := "http://" + net.JoinHostPort(p.AdminAddress, itoa(p.AdminPort)) + "/ready"
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatalf("envoy exited before ready:\n%s", out.String())
		default:
		}
		resp, err := http.Get(ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("envoy not ready after 10s:\n%s", out.String())
}

func itoa(i int) string { return strconv.Itoa(i) }
