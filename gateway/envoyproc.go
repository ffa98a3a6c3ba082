package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Envoy is a running Envoy child process.
type Envoy struct {
	cmd  *exec.Cmd
	done chan error
}

// StartEnvoy runs bin with the bootstrap at configPath. Envoy's own log
// (its stderr) and its stdout (where an access log to /dev/stdout goes)
// both go to logw; see StartEnvoyWith to split them. Hot restart is disabled so several Envoys (tests, a second
// gateway) can run on one machine.
func StartEnvoy(bin, configPath string, logLevel string, logw io.Writer) (*Envoy, error) {
	return StartEnvoyWith(bin, configPath, logLevel, logw, logw)
}

// StartEnvoyWith is StartEnvoy with Envoy's stdout and stderr apart.
func StartEnvoyWith(bin, configPath string, logLevel string, stdout, stderr io.Writer) (*Envoy, error) {
	// The access log is flushed every 200ms instead of Envoy's default 10s,
	// so `make run` shows requests as they happen.
	cmd := exec.Command(bin, "-c", configPath, "--disable-hot-restart", "--log-level", logLevel,
		"--file-flush-interval-msec", "200")
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	// Envoy dies with us even if we are killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start envoy %s: %w", bin, err)
	}
	e := &Envoy{cmd: cmd, done: make(chan error, 1)}
	go func() { e.done <- cmd.Wait() }()
	return e, nil
}

// WaitReady polls Envoy's admin /ready until it answers 200.
func (e *Envoy) WaitReady(ctx context.Context, adminAddr string) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case err := <-e.done:
			e.done <- err
			return fmt.Errorf("envoy exited before it was ready: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("envoy not ready: %w", ctx.Err())
		case <-t.C:
		}
		resp, err := http.Get("http://" + adminAddr + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
}

// Done yields Envoy's exit status once it exits.
func (e *Envoy) Done() <-chan error { return e.done }

// Stop asks Envoy to exit and kills it after a grace period.
func (e *Envoy) Stop() error {
	if e.cmd.Process == nil {
		return nil
	}
	_ = e.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-e.done:
		e.done <- err
		return nil
	case <-time.After(5 * time.Second):
		_ = e.cmd.Process.Kill()
		err := <-e.done
		e.done <- err
		return nil
	}
}
