package stdio

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/internal/backoff"
)

// listerIdle bounds how long the per-session mode's listing process
// lingers after listing tools.
const listerIdle = 10 * time.Second

// Server supervises the processes of one configured stdio server. It is
// safe for concurrent use.
type Server struct {
	opts   Options
	log    *slog.Logger
	ctx    context.Context // ends at Close; bounds starts
	cancel context.CancelFunc

	mu       sync.Mutex
	shared   *slot            // shared mode
	lister   *slot            // per-session mode: lists tools
	sessions map[string]*slot // per-session mode, by caller key
	running  int              // per-session processes (reserved)
	closed   bool
}

// New prepares a server; no process starts before Start or a request.
func New(opts Options) (*Server, error) {
	if err := opts.applyDefaults(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		opts:     opts,
		log:      opts.Logger.With("upstream", opts.Alias),
		ctx:      ctx,
		cancel:   cancel,
		sessions: map[string]*slot{},
	}
	if opts.PerSession {
		s.lister = s.newSlot("", false, min(opts.IdleTimeout, listerIdle))
	} else {
		s.shared = s.newSlot("", false, opts.IdleTimeout)
		s.shared.keep = opts.Eager
	}
	return s, nil
}

func (s *Server) newSlot(key string, counted bool, idle time.Duration) *slot {
	sl := &slot{
		srv: s, key: key, counted: counted, idle: idle,
		log: s.log,
		bo:  backoff.Backoff{Min: s.opts.RetryMin, Max: s.opts.RetryMax},
	}
	if key != "" {
		sl.log = s.log.With("session", key)
	}
	if s.opts.MaxConcurrent > 0 {
		sl.sem = make(chan struct{}, s.opts.MaxConcurrent)
	}
	return sl
}

// Start starts the shared process of an eager server in the background;
// otherwise it does nothing. It never blocks on the process.
func (s *Server) Start(context.Context) error {
	if s.shared != nil && s.shared.keep {
		go s.shared.warm()
	}
	return nil
}

// Do runs fn with a live MCP session to the process that serves key (the
// caller's session; ignored in shared mode), starting it if needed. fn's
// context is ctx. See slot.do for the errors.
func (s *Server) Do(ctx context.Context, key string, fn func(context.Context, *mcp.ClientSession) error) error {
	sl, err := s.slotFor(key)
	if err != nil {
		return err
	}
	return sl.do(ctx, fn)
}

// List runs fn with a session for listing tools: the shared process, or
// in per-session mode a short-lived process of its own.
func (s *Server) List(ctx context.Context, fn func(context.Context, *mcp.ClientSession) error) error {
	if s.shared != nil {
		return s.shared.do(ctx, fn)
	}
	return s.lister.do(ctx, fn)
}

func (s *Server) slotFor(key string) (*slot, error) {
	if s.shared != nil {
		return s.shared, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	sl := s.sessions[key]
	if sl == nil {
		sl = s.newSlot(key, true, s.opts.IdleTimeout)
		s.sessions[key] = sl
	}
	return sl, nil
}

// EndSession stops key's process (per-session mode) and forgets it.
func (s *Server) EndSession(key string) {
	s.mu.Lock()
	sl := s.sessions[key]
	delete(s.sessions, key)
	s.mu.Unlock()
	if sl != nil {
		sl.close()
	}
}

// reserve takes one of the MaxProcesses per-session places for sl. At the
// cap it stops the least recently used idle process of another session
// and takes over its place.
func (s *Server) reserve(sl *slot) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.running < s.opts.MaxProcesses {
		s.running++
		s.mu.Unlock()
		return nil
	}
	var (
		victim   *process
		vslot    *slot
		lastUsed time.Time
	)
	for _, other := range s.sessions {
		if other == sl {
			continue
		}
		if p, used, ok := other.idleRunning(); ok && (victim == nil || used.Before(lastUsed)) {
			victim, vslot, lastUsed = p, other, used
		}
	}
	if victim != nil {
		victim.handedOff.Store(true)
		victim.markStopping()
	}
	s.mu.Unlock()
	if victim == nil {
		return fmt.Errorf("stdio server %s: %w: %d per-session processes are running and busy (max_processes)",
			s.opts.Alias, ErrTooManyProcesses, s.opts.MaxProcesses)
	}
	vslot.log.Info("stdio server process cap reached, stopping the least recently used idle process",
		"pid", victim.pid, "max_processes", s.opts.MaxProcesses)
	victim.stop(s.opts.StopGrace)
	return nil
}

func (s *Server) unreserve() {
	s.mu.Lock()
	s.running--
	s.mu.Unlock()
}

func (s *Server) listChanged() {
	if s.opts.OnListChanged != nil {
		s.opts.OnListChanged()
	}
}

// PIDs returns the ids of the running processes, sorted.
func (s *Server) PIDs() []int {
	s.mu.Lock()
	slots := s.slotsLocked()
	s.mu.Unlock()
	var out []int
	for _, sl := range slots {
		if pid := sl.pid(); pid != 0 {
			out = append(out, pid)
		}
	}
	slices.Sort(out)
	return out
}

func (s *Server) slotsLocked() []*slot {
	var all []*slot
	for _, sl := range []*slot{s.shared, s.lister} {
		if sl != nil {
			all = append(all, sl)
		}
	}
	for _, sl := range s.sessions {
		all = append(all, sl)
	}
	return all
}

// Close stops every process, with its process group, and waits for them.
// Requests in flight fail. Safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	slots := s.slotsLocked()
	clear(s.sessions)
	s.mu.Unlock()
	s.cancel()
	var wg sync.WaitGroup
	for _, sl := range slots {
		wg.Go(sl.close)
	}
	wg.Wait()
	return nil
}

var _ io.Closer = (*Server)(nil)
