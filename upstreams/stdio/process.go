package stdio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// protocolVersion is what the gateway asks a child for; pinning it skips
// go-sdk's 2026-07-28 server/discover probe, and an older server
// negotiates down.
const protocolVersion = "2025-11-25"

// process is one running child with an initialized MCP client session.
type process struct {
	pid     int
	cs      *mcp.ClientSession
	started time.Time
	stderr  *lineLogger

	done    chan struct{} // closed once the child has exited and been reaped
	exitErr error         // why it exited; read after done
	// settled is closed once the slot has taken note of the exit (see
	// slot.watch), so a waiter sees the slot's new state.
	settled chan struct{}

	markOnce sync.Once
	stopOnce sync.Once
	stopped  chan struct{} // closed when we began stopping it on purpose
	// handedOff: its per-session process reservation went to another
	// slot (eviction), so its exit must not release it.
	handedOff atomic.Bool
}

// spawn starts the child and initializes an MCP session with it within
// ctx. onListChanged is called (on the session's read loop) when the
// child announces that its tools, prompts or resources changed.
func spawn(ctx context.Context, o *Options, log *slog.Logger, onListChanged func()) (*process, error) {
	env := childEnv(o.Env, o.LookupEnv)
	path, err := lookPath(o.Command, envValue(env, "PATH"), o.Dir)
	if err != nil {
		return nil, err
	}
	// Pipes of our own (not StdinPipe/StdoutPipe): Wait must not close
	// the read end under the MCP session, and a grandchild that inherits
	// stdout must not hold Wait up.
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	cmd := exec.Command(path, o.Args...)
	cmd.Env = env
	cmd.Dir = o.Dir
	cmd.Stdin = inR
	cmd.Stdout = outW
	p := &process{done: make(chan struct{}), stopped: make(chan struct{}), settled: make(chan struct{})}
	p.stderr = &lineLogger{log: log}
	cmd.Stderr = p.stderr
	// A grandchild holding stderr open must not keep Wait from returning.
	cmd.WaitDelay = time.Second
	isolate(cmd)
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("start %s: %w", o.Command, err)
	}
	p.pid = cmd.Process.Pid
	p.started = time.Now()
	p.stderr.log = log.With("pid", p.pid)
	go func() {
		err := cmd.Wait()
		// Whatever the child left behind in its group goes with it.
		signalGroup(p.pid, sigKill)
		p.stderr.flush()
		p.exitErr = err
		close(p.done)
	}()

	changed := func() {
		if onListChanged != nil {
			onListChanged()
		}
	}
	client := mcp.NewClient(o.Implementation, &mcp.ClientOptions{
		Logger:                     log,
		ToolListChangedHandler:     func(context.Context, *mcp.ToolListChangedRequest) { changed() },
		PromptListChangedHandler:   func(context.Context, *mcp.PromptListChangedRequest) { changed() },
		ResourceListChangedHandler: func(context.Context, *mcp.ResourceListChangedRequest) { changed() },
	})
	// The session's connection closes both pipe ends we hold; closing
	// stdin is how the child is asked to exit.
	transport := &mcp.IOTransport{Reader: outR, Writer: inW}
	type result struct {
		cs  *mcp.ClientSession
		err error
	}
	rc := make(chan result, 1)
	go func() {
		cs, err := client.Connect(ctx, transport, &mcp.ClientSessionOptions{ProtocolVersion: protocolVersion})
		rc <- result{cs, err}
	}()
	var r result
	select {
	case r = <-rc:
	case <-p.done:
		// The child died before answering initialize; Connect may still
		// be waiting on a pipe a grandchild holds.
		outR.Close()
		inW.Close()
		r = <-rc
		if r.err == nil {
			r.cs.Close()
			r.err = errors.New("exited during initialize")
		}
	}
	if r.err != nil {
		inW.Close()
		outR.Close()
		p.stop(0)
		if exited(p) {
			return nil, fmt.Errorf("initialize: %w (%s)", r.err, exitText(p.exitErr))
		}
		return nil, fmt.Errorf("initialize: %w", r.err)
	}
	p.cs = r.cs
	return p, nil
}

// exited reports whether the child has exited.
func exited(p *process) bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitText describes how a child exited.
func exitText(err error) string {
	if err == nil {
		return "exited with status 0"
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return "exited: " + ee.ProcessState.String()
	}
	return "exited: " + err.Error()
}

// stop ends the child: close its stdin (the MCP way to ask a stdio server
// to exit), wait up to grace, then SIGTERM its process group, wait a
// little more, then SIGKILL the group. It returns once the child has been
// reaped. Safe to call more than once and concurrently.
func (p *process) stop(grace time.Duration) {
	p.markStopping()
	p.stopOnce.Do(func() {
		if p.cs != nil {
			p.cs.Close()
		}
		if wait(p.done, grace) {
			return
		}
		signalGroup(p.pid, sigTerm)
		if wait(p.done, 2*time.Second) {
			return
		}
		signalGroup(p.pid, sigKill)
	})
	<-p.done
}

// markStopping flags the process as being stopped on purpose, so it is
// handed to no new request and its exit is not a crash.
func (p *process) markStopping() { p.markOnce.Do(func() { close(p.stopped) }) }

// stopping reports whether the process is being stopped on purpose.
func (p *process) stopping() bool {
	select {
	case <-p.stopped:
		return true
	default:
		return false
	}
}

func wait(ch <-chan struct{}, d time.Duration) bool {
	if d <= 0 {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		return false
	}
}
