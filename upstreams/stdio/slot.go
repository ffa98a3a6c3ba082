package stdio

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/internal/backoff"
)

// slot is one supervised process position: the shared process, the
// per-session lister, or one session's process. It starts its process on
// demand, restarts it after a crash (after a backoff) and stops it when
// idle.
type slot struct {
	srv     *Server
	key     string
	log     *slog.Logger
	idle    time.Duration // stop after this long without requests; 0: never
	counted bool          // a per-session process: counts against MaxProcesses
	keep    bool          // eager shared: restart without waiting for a request
	sem     chan struct{} // MaxConcurrent; nil: no limit

	mu       sync.Mutex
	proc     *process
	starting chan struct{} // non-nil while a start is under way; closed after
	lastErr  string        // why the last process ended or failed to start
	retryAt  time.Time     // no start before this
	bo       backoff.Backoff
	inflight int
	lastUsed time.Time
	idleT    *time.Timer
	closed   bool
}

// do runs fn with the slot's live session, starting the process first if
// needed. Errors: *UnavailableError while the process is down, ErrClosed,
// *ExitedError when the process died during fn, or fn's own error.
func (sl *slot) do(ctx context.Context, fn func(context.Context, *mcp.ClientSession) error) error {
	if sl.sem != nil {
		select {
		case sl.sem <- struct{}{}:
			defer func() { <-sl.sem }()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p, err := sl.acquire(ctx)
	if err != nil {
		return err
	}
	defer sl.release()
	err = fn(ctx, p.cs)
	var rpcErr *jsonrpc.Error
	if err == nil || errors.As(err, &rpcErr) || ctx.Err() != nil {
		return err
	}
	// Any other error may mean the child died: give its exit a moment
	// to be noticed, so the caller learns what happened.
	if wait(p.done, time.Second) {
		if p.stopping() {
			return ErrClosed
		}
		return &ExitedError{Alias: sl.srv.opts.Alias, Cause: exitText(p.exitErr)}
	}
	return err
}

// acquire returns the live process, starting one if there is none, and
// counts the request as in flight (see release).
func (sl *slot) acquire(ctx context.Context) (*process, error) {
	for {
		sl.mu.Lock()
		if sl.closed {
			sl.mu.Unlock()
			return nil, ErrClosed
		}
		if p := sl.proc; p != nil {
			if !p.stopping() && !exited(p) {
				sl.inflight++
				if sl.idleT != nil {
					sl.idleT.Stop()
				}
				sl.mu.Unlock()
				return p, nil
			}
			// Being stopped (idle, evicted) or just crashed: watch clears
			// it once it has exited.
			sl.mu.Unlock()
			select {
			case <-p.settled:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			continue
		}
		if ch := sl.starting; ch != nil {
			sl.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if wait := time.Until(sl.retryAt); wait > 0 {
			err := &UnavailableError{Alias: sl.srv.opts.Alias, Cause: sl.lastErr, RetryIn: wait}
			sl.mu.Unlock()
			return nil, err
		}
		sl.starting = make(chan struct{})
		sl.mu.Unlock()
		if err := sl.start(); err != nil {
			return nil, err
		}
	}
}

// release ends a request begun by acquire and arms the idle timer.
func (sl *slot) release() {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	sl.inflight--
	sl.lastUsed = time.Now()
	if sl.inflight > 0 || sl.idle <= 0 || sl.keep || sl.proc == nil {
		return
	}
	if sl.idleT == nil {
		sl.idleT = time.AfterFunc(sl.idle, sl.idleCheck)
	} else {
		sl.idleT.Reset(sl.idle)
	}
}

// idleCheck stops the process if it has been idle for the idle timeout.
func (sl *slot) idleCheck() {
	sl.mu.Lock()
	p := sl.proc
	if p == nil || sl.closed || sl.inflight > 0 || time.Since(sl.lastUsed) < sl.idle {
		sl.mu.Unlock()
		return
	}
	p.markStopping()
	sl.mu.Unlock()
	sl.log.Info("stdio server idle, stopping it", "pid", p.pid, "idle_timeout", sl.idle)
	p.stop(sl.srv.opts.StopGrace)
}

// start starts a process; the caller has set sl.starting.
func (sl *slot) start() error {
	s := sl.srv
	finish := func() {
		ch := sl.starting
		sl.starting = nil
		close(ch)
	}
	if sl.counted {
		if err := s.reserve(sl); err != nil {
			sl.mu.Lock()
			finish()
			sl.mu.Unlock()
			return err
		}
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.StartTimeout)
	p, err := spawn(ctx, &s.opts, sl.log, s.listChanged)
	cancel()

	sl.mu.Lock()
	if err != nil {
		var wait time.Duration
		closed := sl.closed || s.ctx.Err() != nil
		if !closed {
			wait = sl.bo.Next()
			sl.lastErr = "could not start: " + err.Error()
			sl.retryAt = time.Now().Add(wait)
		}
		cause := sl.lastErr
		finish()
		sl.mu.Unlock()
		if sl.counted {
			s.unreserve()
		}
		if closed {
			return ErrClosed
		}
		sl.log.Warn("stdio server failed to start", "error", err, "retry_in", wait.Round(time.Millisecond))
		if sl.keep {
			time.AfterFunc(wait, sl.warm)
		}
		return &UnavailableError{Alias: s.opts.Alias, Cause: cause, RetryIn: wait}
	}
	if sl.closed {
		finish()
		sl.mu.Unlock()
		p.stop(s.opts.StopGrace)
		if sl.counted {
			s.unreserve()
		}
		return ErrClosed
	}
	sl.proc = p
	sl.lastUsed = time.Now()
	finish()
	sl.mu.Unlock()
	sl.log.Info("stdio server started", "pid", p.pid, "protocol_version", p.cs.InitializeResult().ProtocolVersion)
	go sl.watch(p)
	if sl == s.shared && s.opts.OnStarted != nil {
		go s.opts.OnStarted()
	}
	return nil
}

// watch waits for p to exit and records a crash, scheduling the restart.
func (sl *slot) watch(p *process) {
	<-p.done
	defer close(p.settled)
	s := sl.srv
	if sl.counted && !p.handedOff.Load() {
		s.unreserve()
	}
	sl.mu.Lock()
	if sl.proc == p {
		sl.proc = nil
	}
	if p.stopping() || sl.closed {
		sl.mu.Unlock()
		sl.log.Info("stdio server stopped", "pid", p.pid)
		return
	}
	if time.Since(p.started) >= s.opts.RetryMax {
		sl.bo.Reset()
	}
	wait := sl.bo.Next()
	sl.lastErr = exitText(p.exitErr)
	sl.retryAt = time.Now().Add(wait)
	sl.mu.Unlock()
	sl.log.Warn("stdio server exited unexpectedly", "pid", p.pid, "status", sl.lastErr,
		"restart_in", wait.Round(time.Millisecond))
	if sl.keep {
		time.AfterFunc(wait, sl.warm)
	}
}

// warm starts the process without a request (eager mode).
func (sl *slot) warm() {
	ctx, cancel := context.WithTimeout(sl.srv.ctx, sl.srv.opts.StartTimeout)
	defer cancel()
	if _, err := sl.acquire(ctx); err == nil {
		sl.release()
	}
}

// idleRunning reports whether the slot has a live process with no request
// in flight, and when it was last used. Called with the server's lock held.
func (sl *slot) idleRunning() (*process, time.Time, bool) {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	p := sl.proc
	if p == nil || p.stopping() || exited(p) || sl.inflight > 0 || sl.closed {
		return nil, time.Time{}, false
	}
	return p, sl.lastUsed, true
}

// close stops the slot for good, waiting for its process (and a start
// under way) to end.
func (sl *slot) close() {
	for {
		sl.mu.Lock()
		sl.closed = true
		if sl.idleT != nil {
			sl.idleT.Stop()
		}
		if ch := sl.starting; ch != nil {
			sl.mu.Unlock()
			<-ch
			continue
		}
		p := sl.proc
		sl.mu.Unlock()
		if p != nil {
			p.stop(sl.srv.opts.StopGrace)
		}
		return
	}
}

// pid returns the running process's id, or 0.
func (sl *slot) pid() int {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.proc == nil || exited(sl.proc) {
		return 0
	}
	return sl.proc.pid
}
