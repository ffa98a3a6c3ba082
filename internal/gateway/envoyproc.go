package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Envoy is a running Envoy child process.
type Envoy struct {
	cmd        *exec.Cmd
	configPath string // absolute, as /server_info reports it
	addrPath   string // where Envoy writes its admin address
	tail       *tailWriter
	exited     chan struct{}
	err        error // Envoy's exit status; set before exited closes
	adminAddr  string
}

// StartEnvoy runs bin with the bootstrap at configPath. Envoy's own log
// (its stderr) and its stdout (where an access log to /dev/stdout goes)
// both go to logw; see StartEnvoyWith to split them. Hot restart is
// disabled so several Envoys (tests, a second gateway) can run on one
// machine.
func StartEnvoy(bin, configPath string, logLevel string, logw io.Writer) (*Envoy, error) {
	return StartEnvoyWith(bin, configPath, logLevel, logw, logw)
}

// StartEnvoyWith is StartEnvoy with Envoy's stdout and stderr apart.
//
// Envoy writes the address its admin interface bound to a file beside
// configPath (--admin-address-path), so the bootstrap may give the admin
// port as 0 and WaitReady still reaches this Envoy's admin interface, never
// another one's.
func StartEnvoyWith(bin, configPath string, logLevel string, stdout, stderr io.Writer) (*Envoy, error) {
	abs, err := filepath.Abs(configPath)
	if err != nil {
		return nil, fmt.Errorf("start envoy: %w", err)
	}
	e := &Envoy{configPath: abs, addrPath: abs + ".admin-address", tail: &tailWriter{max: 4 << 10}, exited: make(chan struct{})}
	if err := os.Remove(e.addrPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("start envoy: %w", err)
	}
	// The access log is flushed every 200ms instead of Envoy's default 10s,
	// so `make run` shows requests as they happen.
	cmd := exec.Command(bin, "-c", abs, "--disable-hot-restart", "--log-level", logLevel,
		"--file-flush-interval-msec", "200", "--admin-address-path", e.addrPath)
	cmd.Stdout = stdout
	cmd.Stderr = io.MultiWriter(stderr, e.tail)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Envoy dies with us even if we are killed.
		Pdeathsig: syscall.SIGTERM,
		// Its own process group: a terminal's Ctrl-C reaches only us, and we
		// stop Envoy ourselves, so an interrupt is never mistaken for Envoy
		// dying on its own.
		Setpgid: true,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start envoy %s: %w", bin, err)
	}
	e.cmd = cmd
	go func() {
		e.err = cmd.Wait()
		close(e.exited)
	}()
	return e, nil
}

// WaitReady returns once this Envoy reports itself ready (LIVE on its
// admin /server_info, what /ready answers 200 for), or with an error as
// soon as Envoy exits (naming Envoy's last log line, e.g. a port it could
// not bind) or ctx ends. The admin address is the one this Envoy wrote
// (never a configured one another Envoy may hold), and /server_info must
// name this Envoy's bootstrap file: a second gateway can never take
// another Envoy's readiness for its own.
func (e *Envoy) WaitReady(ctx context.Context) error {
	client := &http.Client{Timeout: 2 * time.Second}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-e.exited:
			return e.exitedEarly()
		case <-ctx.Done():
			return fmt.Errorf("envoy not ready: %w", ctx.Err())
		case <-t.C:
		}
		if e.adminAddr == "" {
			if e.adminAddr = e.readAdminAddress(); e.adminAddr == "" {
				continue
			}
		}
		live, err := e.live(ctx, client)
		if err != nil {
			return err
		}
		if live {
			return nil
		}
	}
}

// exitedEarly describes an exit before ready with Envoy's last log line.
func (e *Envoy) exitedEarly() error {
	if line := e.tail.lastLine(); line != "" {
		return fmt.Errorf("envoy exited before it was ready (%v): %s", e.err, line)
	}
	return fmt.Errorf("envoy exited before it was ready: %v", e.err)
}

// readAdminAddress returns the address Envoy wrote to its
// --admin-address-path file, or "" while there is none (yet).
func (e *Envoy) readAdminAddress() string {
	b, err := os.ReadFile(e.addrPath)
	if err != nil {
		return ""
	}
	addr := strings.TrimSpace(string(b))
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "" // not completely written yet
	}
	return addr
}

// live asks the admin interface at e.adminAddr whether Envoy is LIVE. It
// fails when that interface belongs to another Envoy; one that does not
// answer (yet) is not live.
func (e *Envoy) live(ctx context.Context, client *http.Client) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+e.adminAddr+"/server_info", nil)
	if err != nil {
		return false, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, nil
	}
	defer resp.Body.Close()
	var info struct {
		State   string `json:"state"`
		Options struct {
			ConfigPath string `json:"config_path"`
		} `json:"command_line_options"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&info) != nil {
		return false, nil
	}
	if info.Options.ConfigPath != e.configPath {
		return false, fmt.Errorf("envoy admin address %s is another Envoy's (bootstrap %q, ours is %q)", e.adminAddr, info.Options.ConfigPath, e.configPath)
	}
	return info.State == "LIVE", nil
}

// adminClient asks Envoy's admin interface (loopback) for readiness,
// statistics and the drain; every request has its context's deadline.
var adminClient = &http.Client{Timeout: 10 * time.Second}

// adminRequest sends method path to this Envoy's admin interface, known
// once WaitReady succeeded. The caller closes the body.
func (e *Envoy) adminRequest(ctx context.Context, method, path string) (*http.Response, error) {
	if e.adminAddr == "" {
		return nil, errors.New("envoy admin address not known yet")
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+e.adminAddr+path, nil)
	if err != nil {
		return nil, err
	}
	return adminClient.Do(req)
}

// admin is adminRequest for a short text answer (at most 4 MiB), an
// error unless Envoy answers 200.
func (e *Envoy) admin(ctx context.Context, method, path string) (string, error) {
	resp, err := e.adminRequest(ctx, method, path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("envoy admin %s %s: %s", method, path, resp.Status)
	}
	return string(b), nil
}

// AdminAddress is the address of this Envoy's admin interface, known once
// WaitReady succeeded.
func (e *Envoy) AdminAddress() string { return e.adminAddr }

// PID is the Envoy process id.
func (e *Envoy) PID() int { return e.cmd.Process.Pid }

// Done is closed when Envoy has exited; Err then says how.
func (e *Envoy) Done() <-chan struct{} { return e.exited }

// Err is Envoy's exit status once Done is closed (nil for a clean exit).
func (e *Envoy) Err() error {
	select {
	case <-e.exited:
		return e.err
	default:
		return nil
	}
}

// Stop asks Envoy to exit (SIGTERM) and kills it after a grace period. It
// returns once Envoy has exited and may be called any number of times.
func (e *Envoy) Stop() {
	select {
	case <-e.exited:
		return
	default:
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.exited:
	case <-time.After(5 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.exited
	}
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if over := len(w.buf) - w.max; over > 0 {
		w.buf = append(w.buf[:0], w.buf[over:]...)
	}
	return len(p), nil
}

// lastLine is the last non-empty line written, trimmed.
func (w *tailWriter) lastLine() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	lines := bytes.Split(bytes.TrimSpace(w.buf), []byte("\n"))
	return string(bytes.TrimSpace(lines[len(lines)-1]))
}
