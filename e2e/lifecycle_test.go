//go:build linux

package e2e

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/internal/testutil"
)

// The process lifecycle of `mcpgw run`, the binary as users start it, with
// real Envoy: what happens on signals, when Envoy dies, and when a second
// gateway is started on a port or admin address already in use.

// lifecycleWait bounds every wait for a process to start or stop:
// generous for a small, busy machine; a hang fails the test instead of
// holding it forever.
const lifecycleWait = 60 * time.Second

// buildGateway builds cmd/mcpgw into the test's temp dir.
func buildGateway(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go toolchain: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "mcpgw")
	if out, err := exec.CommandContext(t.Context(), goBin, "build", "-o", bin, "../cmd/mcpgw").CombinedOutput(); err != nil {
		t.Fatalf("build mcpgw: %v\n%s", err, out)
	}
	return bin
}

// gatewayProc is `mcpgw run` as a child process. Its TMPDIR is its own,
// so the test sees the work directory the gateway creates there.
type gatewayProc struct {
	cmd            *exec.Cmd
	stdout, stderr testutil.SyncBuffer
	tmp            string
	exited         chan struct{}
}

// startRun starts `mcpgw run` on the config text with the extra args.
func startRun(t *testing.T, bin, configText string, args ...string) *gatewayProc {
	t.Helper()
	envoyBin := requireEnv(t, "ENVOY_BIN")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(configText), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &gatewayProc{tmp: filepath.Join(dir, "tmp"), exited: make(chan struct{})}
	if err := os.Mkdir(p.tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, append([]string{"run", "-config", cfg, "-envoy", envoyBin}, args...)...)
	p.cmd.Env = append(os.Environ(), "TMPDIR="+p.tmp)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	// A crashed test run leaves no gateway behind.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("mcpgw run stdout:\n%s\nstderr:\n%s", p.stdout.String(), p.stderr.String())
		}
	})
	return p
}

// waitRunning waits for the banner `mcpgw run` prints once Envoy is ready.
func (p *gatewayProc) waitRunning(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(lifecycleWait)
	for !strings.Contains(p.stdout.String(), "mcpgw is running") {
		select {
		case <-p.exited:
			t.Fatalf("mcpgw run exited (%v) before it was running", p.cmd.ProcessState)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("mcpgw run not running after %v", lifecycleWait)
		}
	}
}

// waitExit waits for the process to exit and returns its exit code (-1
// when a signal ended it).
func (p *gatewayProc) waitExit(t *testing.T, after string) int {
	t.Helper()
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(lifecycleWait):
		t.Fatalf("mcpgw run still running %v after %s", lifecycleWait, after)
		return 0
	}
}

// workDirs lists the gateway's work directories left in its TMPDIR.
func (p *gatewayProc) workDirs() []string {
	dirs, _ := filepath.Glob(filepath.Join(p.tmp, "mcpgw-*"))
	return dirs
}

// envoyPID is the pid of the Envoy the gateway runs.
func (p *gatewayProc) envoyPID(t *testing.T) int {
	t.Helper()
	for _, pid := range childrenOf(p.cmd.Process.Pid) {
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) == "envoy" {
			return pid
		}
	}
	t.Fatal("the gateway has no Envoy child process")
	return 0
}

// childrenOf lists the live child processes of pid.
func childrenOf(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) >= 2 && fields[0] != "Z" && fields[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

// processesWith lists live processes whose command line contains marker.
func processesWith(marker string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if bytes.Contains(cmdline, []byte(marker)) && pidAlive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// initialize sends an MCP initialize over a new connection and returns
// the HTTP status.
func initialize(t *testing.T, endpoint, key string) int {
	t.Helper()
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if key != "" {
		req.Header.Set("x-litellm-api-key", key)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("initialize at %s: %v", endpoint, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// gatewayConfig serves the upstream as alpha, and moreServers, on port.
// The gateway block is last: settings appended to it land in it.
func gatewayConfig(upstreamURL string, port int, moreServers string) string {
	return fmt.Sprintf("mcp_servers:\n  alpha:\n    url: %q\n%sgateway:\n  port: %d\n", upstreamURL, moreServers, port)
}

// TestRunStopsCleanlyOnSignals: SIGINT, SIGTERM and SIGHUP stop `mcpgw
// run` with exit 0, and leave neither its work directory nor a child
// process (Envoy, a stdio server) behind. SIGHUP used to kill it at once,
// leaving the work directory.
func TestRunStopsCleanlyOnSignals(t *testing.T) {
	bin := buildGateway(t)
	up := startUpstream(t, "alpha", true, "echo")
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			// A stdio server started at once, marked so it can be found
			// after the gateway is gone (it is no MCP server: it lives until
			// the gateway gives up initializing it, 30 s).
			marker := fmt.Sprintf("%d.%d", 1000+sig, os.Getpid())
			port := mustFreePort(t)
			p := startRun(t, bin, gatewayConfig(up.URL, port, fmt.Sprintf(
				"  quiet:\n    transport: stdio\n    command: sleep\n    args: [%q]\n    startup: eager\n", marker)))
			p.waitRunning(t)
			if code := initialize(t, fmt.Sprintf("http://127.0.0.1:%d/mcp", port), ""); code != http.StatusOK {
				t.Fatalf("initialize: HTTP %d", code)
			}
			envoyPID := p.envoyPID(t)
			waitFor(t, "the stdio server to start", func() bool { return len(processesWith(marker)) > 0 })
			if len(p.workDirs()) != 1 {
				t.Fatalf("work directories while running: %v", p.workDirs())
			}

			p.cmd.Process.Signal(sig)
			if code := p.waitExit(t, sig.String()); code != 0 {
				t.Errorf("exit code %d after %v, want 0", code, sig)
			}
			if dirs := p.workDirs(); len(dirs) != 0 {
				t.Errorf("work directory left behind: %v", dirs)
			}
			if pidAlive(envoyPID) {
				t.Errorf("Envoy (pid %d) still running", envoyPID)
			}
			waitFor(t, "the stdio server to be gone", func() bool { return len(processesWith(marker)) == 0 })
		})
	}
}

// TestRunStopsWhenEnvoyDies: Envoy killed, or exiting by itself, stops
// `mcpgw run` with a non-zero exit and a log line saying so, and removes
// the work directory. It used to hang, ignoring SIGINT and SIGTERM too.
func TestRunStopsWhenEnvoyDies(t *testing.T) {
	bin := buildGateway(t)
	up := startUpstream(t, "alpha", true, "echo")
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
		want string
	}{
		{"killed", syscall.SIGKILL, "envoy exited unexpectedly: signal: killed"},
		{"exits", syscall.SIGTERM, "envoy exited unexpectedly"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startRun(t, bin, gatewayConfig(up.URL, mustFreePort(t), ""))
			p.waitRunning(t)
			if err := syscall.Kill(p.envoyPID(t), tc.sig); err != nil {
				t.Fatal(err)
			}
			if code := p.waitExit(t, "Envoy died"); code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if !strings.Contains(p.stderr.String(), tc.want) {
				t.Errorf("stderr does not say %q", tc.want)
			}
			if dirs := p.workDirs(); len(dirs) != 0 {
				t.Errorf("work directory left behind: %v", dirs)
			}
		})
	}
}

// TestSecondGatewayOnServedPort: a second gateway on a port a first one
// serves refuses to start, with a clear error, and every new connection
// still reaches the first. It used to start silently (Envoy's reuse_port)
// and take most new connections, with its own key set.
func TestSecondGatewayOnServedPort(t *testing.T) {
	bin := buildGateway(t)
	up := startUpstream(t, "alpha", true, "echo")
	port := mustFreePort(t)
	endpoint := fmt.Sprintf("http://127.0.0.1:%d/mcp", port)
	first := startRun(t, bin, gatewayConfig(up.URL, port, "")+"general_settings:\n  master_key: sk-first\n")
	first.waitRunning(t)

	second := startRun(t, bin, gatewayConfig(up.URL, port, "")+"general_settings:\n  master_key: sk-second\n")
	if code := second.waitExit(t, "starting on a served port"); code != 1 {
		t.Errorf("second gateway: exit code %d, want 1", code)
	}
	if want := fmt.Sprintf("listen address 0.0.0.0:%d is already in use", port); !strings.Contains(second.stderr.String(), want) {
		t.Errorf("second gateway's error does not say %q", want)
	}
	if strings.Contains(second.stdout.String(), "mcpgw is running") {
		t.Error("second gateway said it was running")
	}
	for i := range 6 {
		if code := initialize(t, endpoint, "sk-first"); code != http.StatusOK {
			t.Errorf("connection %d with the first gateway's key: HTTP %d, want 200", i, code)
		}
		if code := initialize(t, endpoint, "sk-second"); code != http.StatusUnauthorized {
			t.Errorf("connection %d with the second gateway's key: HTTP %d, want 401", i, code)
		}
	}
}

// TestSecondGatewayOnTakenAdminAddress: a gateway whose Envoy cannot bind
// its admin address (another gateway's Envoy holds it) fails to start
// with Envoy's reason, and never reports ready. The readiness check used
// to ask the other Envoy, print "running" with nothing listening, and
// hang.
func TestSecondGatewayOnTakenAdminAddress(t *testing.T) {
	bin := buildGateway(t)
	up := startUpstream(t, "alpha", true, "echo")
	admin := fmt.Sprintf("127.0.0.1:%d", mustFreePort(t))
	first := startRun(t, bin, gatewayConfig(up.URL, mustFreePort(t), ""), "-admin-address", admin)
	first.waitRunning(t)

	port := mustFreePort(t)
	second := startRun(t, bin, gatewayConfig(up.URL, port, "")+fmt.Sprintf("  admin_address: %q\n", admin))
	if code := second.waitExit(t, "starting on a taken admin address"); code != 1 {
		t.Errorf("second gateway: exit code %d, want 1", code)
	}
	if want := fmt.Sprintf("envoy exited before it was ready (exit status 1): cannot bind '%s': Address already in use", admin); !strings.Contains(second.stderr.String(), want) {
		t.Errorf("second gateway's error does not say %q", want)
	}
	if strings.Contains(second.stdout.String(), "mcpgw is running") {
		t.Error("second gateway said it was running")
	}
	if dirs := second.workDirs(); len(dirs) != 0 {
		t.Errorf("work directory left behind: %v", dirs)
	}
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second); err == nil {
		c.Close()
		t.Error("something listens on the failed gateway's port")
	}
}
