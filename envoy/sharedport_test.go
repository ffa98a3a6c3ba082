package envoy

import (
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/internal/testutil"
)

// A second Envoy rendered for a port another Envoy already serves must
// fail to start. With Envoy's default reuse_port it bound the same port
// silently and took a share of the new connections.
func TestSecondEnvoyOnServedPortFails(t *testing.T) {
	bin := testutil.EnvoyBin(t)
	first := baseParams(t)
	first.Upstreams = nil
	first.ListenAddress = "127.0.0.1"
	first.ListenPort = testutil.FreePort(t)
	first.AdminPort = testutil.FreePort(t)
	startEnvoy(t, first)

	second := first
	second.AdminPort = testutil.FreePort(t)
	cfg, err := Render(second)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", writeConfig(t, cfg), "--disable-hot-restart", "--log-level", "warn")
	var out testutil.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })

	ready := "http://127.0.0.1:" + itoa(second.AdminPort) + "/ready"
	deadline := time.After(60 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			if err == nil || !strings.Contains(out.String(), "Address already in use") {
				t.Fatalf("second Envoy: err=%v, want a bind failure:\n%s", err, out.String())
			}
			return
		case <-deadline:
			t.Fatalf("second Envoy neither failed nor got ready:\n%s", out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if resp, err := http.Get(ready); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Fatalf("second Envoy is serving the port the first one serves:\n%s", out.String())
			}
		}
	}
}
