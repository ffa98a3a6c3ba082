package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"
)

// The memory scenario (issue 14: ext_proc + sidecar RSS with 10,000 open
// client sessions <= 100 MB). The gateway runs as `mcpgw run`, a process of
// its own, exactly as `make run` starts it (ext_proc service, sidecar,
// admin API and ops listener in that process, Envoy its child): its
// /proc/<pid>/status VmRSS is the gateway's memory alone, not the load
// generator's or the upstream's, which an in-process gateway would mix in.
// The config is scenario (e)'s (a key with tool permissions, allowed_params
// on the server), the upstream the stateful demo server in this process.
//
// Sessions are opened by hand over HTTP (sessionWorkers at a time, MCP
// 2025-11-25: initialize, then notifications/initialized) and never
// closed: no DELETE, and the gateway's session ids are sealed, so an
// open session is one the gateway must accept later. Then each session
// makes one tools/call, so the gateway also holds one upstream session
// per client session (upstream_session_idle is an hour). RSS is read
// after start, after the sessions are open, and after their calls.

// sessionWorkers is how many sessions are opened (and called) at once.
const sessionWorkers = 16

// gatewayStage is what the gateway's own /metrics (ops listener) says at
// one point: the Go heap in use, goroutines, upstream sessions held.
type gatewayStage struct {
	heapInuse, goroutines, upstreamSessions float64
	ok                                      bool // /metrics answered
}

type sessionReport struct {
	stages               [3]gatewayStage // after start, sessions open, calls made
	sessions             int
	open, call           time.Duration // wall time to open all, to call all
	rssStart, rssOpen    int64         // gateway VmRSS after start, after opening
	rssCall, hwm         int64         // after one call per session; VmHWM at the end
	envoyStart, envoyRSS int64         // Envoy's VmRSS after start, at the end (0: not found)
	upstreamInits        int64         // initialize requests the upstream got meanwhile
}

// mcpgwBinary is o.mcpgwBin when given, else cmd/mcpgw of this checkout
// built now into dir (the build cache makes that quick), so the scenario
// never measures a stale binary.
func mcpgwBinary(ctx context.Context, o options, dir string) (string, error) {
	if o.mcpgwBin != "" {
		return filepath.Abs(o.mcpgwBin)
	}
	bin := filepath.Join(dir, "mcpgw")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/mcpgw/mcpgw/cmd/mcpgw")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/mcpgw: %v\n%s", err, out)
	}
	return bin, nil
}

func runSessionScenario(ctx context.Context, o options, up *upstream, progress func(string, ...any)) (rep *sessionReport, err error) {
	dir, err := os.MkdirTemp("", "mcpgw-bench-sessions-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin, err := mcpgwBinary(ctx, o, dir)
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	ops := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := keyedConfig(up.URL) + fmt.Sprintf("gateway:\n  port: %d\n  bind_address: 127.0.0.1\n  ops_address: %q\n", ports[0], ops)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}

	// Warn: at info the gateway logs a line per session and call, whose
	// cost is the other scenarios' business. Envoy's access log goes to
	// stdout, here /dev/null.
	l := &logs{}
	cmd := exec.Command(bin, "run", "-config", cfgPath, "-envoy", o.envoyBin, "-log-level", "warn")
	cmd.Stdout = nil
	cmd.Stderr = l
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		// SIGINT: the gateway stops Envoy and drains; then the group.
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if err != nil && o.verbose {
			fmt.Fprintf(os.Stderr, "--- mcpgw run output ---\n%s\n", l.String())
		}
	}()
	pid := cmd.Process.Pid
	progress("sessions: mcpgw run (pid %d) starting", pid)
	if err := waitReadyz(ctx, "http://"+ops+"/readyz", exited); err != nil {
		return nil, err
	}
	metricsURL := "http://" + ops + "/metrics"
	rep = &sessionReport{sessions: o.sessions}
	if rep.rssStart, err = procStatus(pid, "VmRSS"); err != nil {
		return nil, err
	}
	rep.stages[0] = scrapeGateway(ctx, metricsURL)
	envoyPID := childPID(pid)
	if envoyPID > 0 {
		rep.envoyStart, _ = procStatus(envoyPID, "VmRSS")
	}
	initsBefore := up.Inits.Load()

	endpoint := fmt.Sprintf("http://127.0.0.1:%d/mcp", ports[0])
	hc := &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 2 * sessionWorkers,
	}}
	defer hc.CloseIdleConnections()
	sessions := make([]rawSession, o.sessions)
	for i := range sessions {
		sessions[i] = rawSession{endpoint: endpoint, protocol: "2025-11-25", header: keyHeader(), hc: hc}
	}

	progress("sessions: opening %d sessions", o.sessions)
	t0 := time.Now()
	if err := forEach(ctx, len(sessions), func(ctx context.Context, i int) error {
		_, err := sessions[i].initialize(ctx)
		return err
	}); err != nil {
		return nil, fmt.Errorf("opening sessions: %w", err)
	}
	rep.open = time.Since(t0)
	if rep.rssOpen, err = procStatus(pid, "VmRSS"); err != nil {
		return nil, err
	}
	rep.stages[1] = scrapeGateway(ctx, metricsURL)

	progress("sessions: one tools/call per session")
	tool := alias + "-echo"
	t0 = time.Now()
	if err := forEach(ctx, len(sessions), func(ctx context.Context, i int) error {
		_, _, err := sessions[i].post(ctx, map[string]any{"jsonrpc": "2.0", "id": 2, "method": "tools/call",
			"params": map[string]any{"name": tool, "arguments": map[string]any{"text": echoText}}})
		return err
	}); err != nil {
		return nil, fmt.Errorf("calling: %w", err)
	}
	rep.call = time.Since(t0)
	if rep.rssCall, err = procStatus(pid, "VmRSS"); err != nil {
		return nil, err
	}
	rep.stages[2] = scrapeGateway(ctx, metricsURL)
	if rep.hwm, err = procStatus(pid, "VmHWM"); err != nil {
		return nil, err
	}
	if envoyPID > 0 {
		rep.envoyRSS, _ = procStatus(envoyPID, "VmRSS")
	}
	rep.upstreamInits = up.Inits.Load() - initsBefore
	return rep, nil
}

// scrapeGateway reads three unlabelled series from the gateway's
// Prometheus text; ok is false when /metrics did not answer.
func scrapeGateway(ctx context.Context, url string) gatewayStage {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return gatewayStage{}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return gatewayStage{}
	}
	st := gatewayStage{ok: true}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, found := strings.Cut(sc.Text(), " ")
		if !found {
			continue
		}
		var dst *float64
		switch name {
		case "go_memstats_heap_inuse_bytes":
			dst = &st.heapInuse
		case "go_goroutines":
			dst = &st.goroutines
		case "mcpgw_upstream_sessions_open":
			dst = &st.upstreamSessions
		default:
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			*dst = v
		}
	}
	return st
}

// keyedConfig is scenario (e)'s config as a file's text.
func keyedConfig(upstreamURL string) string {
	return fmt.Sprintf(keyedConfigFormat, alias, upstreamURL, benchMasterKey, benchCallerKey, alias, alias, alias)
}

// forEach runs f(i) for every i < n, sessionWorkers at a time; the first
// error stops it.
func forEach(ctx context.Context, n int, f func(context.Context, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range sessionWorkers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				cctx, c := context.WithTimeout(ctx, callTimeout)
				err := f(cctx, i)
				c()
				if err != nil {
					cancel(fmt.Errorf("session %d: %w", i, err))
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// waitReadyz polls the gateway's /readyz until 200, the process exits or
// a minute passes.
func waitReadyz(ctx context.Context, url string, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("mcpgw run exited while starting: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("mcpgw run: %s not ready: %w", url, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// procStatus reads one "kB" field (VmRSS, VmHWM) of /proc/<pid>/status,
// in bytes.
func procStatus(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/status %s: %w", pid, field, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, field)
}

// childPID is the first child of pid (mcpgw run's Envoy), 0 if none is
// found (/proc/<pid>/task/*/children needs a kernel that has it).
func childPID(pid int) int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for f := range strings.FieldsSeq(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				return c
			}
		}
	}
	return 0
}

func printSessionReport(w io.Writer, r *sessionReport) {
	if r == nil {
		return
	}
	fmt.Fprintf(w, "\nOpen client sessions: %d sessions (MCP 2025-11-25, %d at a time, never closed) through `mcpgw run`, a separate\n"+
		"process (ext_proc service, sidecar, admin API; Envoy its child); config of (e); then one tools/call per session\n\n",
		r.sessions, sessionWorkers)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-50s\t%s\t\n", "", "value")
	row := func(name, v string) { fmt.Fprintf(tw, "%-50s\t%s\t\n", name, v) }
	row("gateway RSS after start, MiB", mib(r.rssStart))
	row(fmt.Sprintf("gateway RSS with %d sessions open, MiB", r.sessions), mib(r.rssOpen))
	row("gateway RSS after one call each, MiB", mib(r.rssCall))
	row("gateway RSS peak (VmHWM), MiB", mib(r.hwm))
	row("gateway RSS growth, open sessions, MiB", mib(r.rssCall-r.rssStart))
	row("per session, KiB", fmt.Sprintf("%.1f", float64(r.rssCall-r.rssStart)/1024/float64(max(r.sessions, 1))))
	if r.envoyStart > 0 {
		row("Envoy RSS after start / at the end, MiB", mib(r.envoyStart)+" / "+mib(r.envoyRSS))
	}
	row("opening all sessions, s (sessions/s)", fmt.Sprintf("%.1f (%.0f)", r.open.Seconds(), float64(r.sessions)/r.open.Seconds()))
	row("one call each, s (calls/s)", fmt.Sprintf("%.1f (%.0f)", r.call.Seconds(), float64(r.sessions)/r.call.Seconds()))
	row("upstream sessions opened (initialize)", strconv.FormatInt(r.upstreamInits, 10))
	if st := r.stages; st[0].ok && st[1].ok && st[2].ok {
		three := func(f func(gatewayStage) string) string {
			return f(st[0]) + " / " + f(st[1]) + " / " + f(st[2])
		}
		row("gateway's /metrics after start / open / calls:", "")
		row("  Go heap in use, MiB", three(func(g gatewayStage) string { return mib(int64(g.heapInuse)) }))
		row("  goroutines", three(func(g gatewayStage) string { return strconv.Itoa(int(g.goroutines)) }))
		row("  upstream sessions open", three(func(g gatewayStage) string { return strconv.Itoa(int(g.upstreamSessions)) }))
	}
	tw.Flush()
	fmt.Fprintf(w, "(RSS: /proc/<pid>/status VmRSS of the mcpgw process, as the kernel counts it, no GC forced; issue 14's goal\n"+
		" for the gateway with 10,000 open sessions: <= 100 MB)\n")
}
