package upstreams

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// maxTools bounds one upstream's tool list, so a server whose cursors never
// end cannot keep discovery paging forever.
const maxTools = 10_000

// link is discovery's view of one upstream: a goroutine (run) that keeps a
// session open and the tool list current, and the state it publishes.
type link struct {
	alias     string
	opts      *DiscoveryOptions
	log       *slog.Logger
	client    *mcp.Client
	transport mcp.Transport
	refresh   chan struct{} // the upstream announced tools/list_changed
	tried     chan struct{} // closed once the first attempt has finished
	triedOnce sync.Once

	mu       sync.Mutex
	cur      *session      // live session, nil while (re)connecting
	changed  chan struct{} // closed and replaced whenever cur changes
	tools    []*mcp.Tool   // nil while the upstream is unreachable
	lastJSON []byte        // tools as last reported to OnChange
}

func newLink(alias string, t mcp.Transport, opts *DiscoveryOptions) *link {
	l := &link{
		alias:     alias,
		opts:      opts,
		log:       opts.Logger.With("upstream", alias),
		transport: t,
		refresh:   make(chan struct{}, 1),
		tried:     make(chan struct{}),
		changed:   make(chan struct{}),
		lastJSON:  []byte("null"), // unreachable until the first listing
	}
	copts := &mcp.ClientOptions{
		Logger: l.log,
		// The handler runs on the session's read loop: only signal run.
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
			select {
			case l.refresh <- struct{}{}:
			default: // a refresh is already pending
			}
		},
	}
	if opts.KeepAlive > 0 {
		copts.KeepAlive = opts.KeepAlive
	}
	l.client = mcp.NewClient(opts.Implementation, copts)
	return l
}

// run keeps the upstream's session and tool list current until ctx ends.
// A session that was healthy for a while is replaced at once when it ends;
// otherwise attempts back off, and the upstream's tools are withdrawn as
// soon as an attempt fails.
func (l *link) run(ctx context.Context) {
	defer l.markTried()
	b := backoff{min: l.opts.RetryMin, max: l.opts.RetryMax}
	for {
		start := time.Now()
		listed, err := l.serve(ctx)
		if ctx.Err() != nil {
			return
		}
		var wait time.Duration
		switch {
		case !listed:
			l.publish(nil)
			l.markTried()
			wait = b.next()
			l.log.Warn("upstream unavailable", "error", err, "retry_in", wait.Round(time.Millisecond))
		case time.Since(start) >= l.opts.RetryMax:
			b.reset()
			l.log.Info("upstream session ended, reconnecting", "error", err)
		default:
			wait = b.next()
			l.log.Info("upstream session ended early", "error", err, "retry_in", wait.Round(time.Millisecond))
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}

// serve opens a session, lists the tools and then follows the upstream
// until the session ends. listed reports whether the tools were listed,
// that is whether the upstream was usable.
func (l *link) serve(ctx context.Context) (listed bool, err error) {
	deadline := time.Now().Add(l.opts.Timeout)
	s, err := open(ctx, l.client, l.transport, l.opts.Timeout)
	if err != nil {
		return false, err
	}
	defer func() {
		l.setSession(nil)
		s.stop()
	}()
	lctx, cancel := context.WithDeadline(ctx, deadline)
	err = l.list(lctx, s)
	cancel()
	if err != nil {
		return false, err
	}
	l.setSession(s)
	l.markTried()
	l.log.Info("upstream connected", "protocol_version", s.cs.InitializeResult().ProtocolVersion,
		"has_session", s.cs.ID() != "", "tools", len(l.snapshot()))

	var poll <-chan time.Time
	if l.opts.PollInterval > 0 {
		t := time.NewTicker(l.opts.PollInterval)
		defer t.Stop()
		poll = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return true, ctx.Err()
		case <-s.done:
			if s.err != nil {
				return true, fmt.Errorf("session ended: %w", s.err)
			}
			return true, errors.New("session ended")
		case <-l.refresh:
		case <-poll:
		}
		lctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
		err := l.list(lctx, s)
		cancel()
		if err != nil {
			return true, err
		}
	}
}

// list fetches every page of the upstream's tools and publishes them.
func (l *link) list(ctx context.Context, s *session) error {
	var tools []*mcp.Tool
	for t, err := range s.cs.Tools(ctx, nil) {
		if err != nil {
			return fmt.Errorf("list tools: %w", err)
		}
		if len(tools) == maxTools {
			return fmt.Errorf("list tools: more than %d tools", maxTools)
		}
		tools = append(tools, t)
	}
	if tools == nil {
		tools = []*mcp.Tool{}
	}
	l.publish(tools)
	return nil
}

// publish records tools (nil: unreachable) and reports a change to
// OnChange. It is only called from run, so reports are serial.
func (l *link) publish(tools []*mcp.Tool) {
	data, err := json.Marshal(tools)
	if err != nil {
		// Tools decoded from JSON always encode; keep going regardless.
		l.log.Error("encode tools", "error", err)
		data = nil
	}
	l.mu.Lock()
	same := data != nil && bytes.Equal(data, l.lastJSON)
	l.tools = tools
	l.lastJSON = data
	l.mu.Unlock()
	if same {
		return
	}
	l.log.Debug("upstream tools changed", "tools", len(tools), "reachable", tools != nil)
	if l.opts.OnChange != nil {
		l.opts.OnChange(l.alias, tools)
	}
}

func (l *link) snapshot() []*mcp.Tool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tools
}

func (l *link) setSession(s *session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur == s {
		return
	}
	l.cur = s
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *link) markTried() { l.triedOnce.Do(func() { close(l.tried) }) }

// await returns a live session other than old, waiting for one up to the
// discovery timeout.
func (l *link) await(ctx context.Context, old *session) (*session, error) {
	timer := time.NewTimer(l.opts.Timeout)
	defer timer.Stop()
	for {
		l.mu.Lock()
		s, changed := l.cur, l.changed
		l.mu.Unlock()
		if s != nil && s != old && s.alive() {
			return s, nil
		}
		select {
		case <-changed:
		case <-timer.C:
			return nil, fmt.Errorf("%w: %s: no session within %v", ErrUpstreamUnavailable, l.alias, l.opts.Timeout)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// callTool calls a tool on the current session; see Discovery.CallTool.
func (l *link) callTool(ctx context.Context, params *mcp.CallToolParams) (*mcp.CallToolResult, error) {
	s, err := l.await(ctx, nil)
	if err != nil {
		return nil, err
	}
	probe := new(rejectProbe)
	res, err := s.cs.CallTool(withRejectProbe(ctx, probe), params)
	refused := unknownSession(err) || (err != nil && probe.rejected())
	if err == nil || !(refused || sessionLost(err)) {
		return res, err
	}
	// Closing the session makes run open a new one.
	s.stop()
	if !refused {
		return nil, fmt.Errorf("call %s on %s: %w", params.Name, l.alias, err)
	}
	l.log.Info("upstream refused the session, calling again on a new one", "tool", params.Name, "error", err)
	s, err = l.await(ctx, s)
	if err != nil {
		return nil, err
	}
	return s.cs.CallTool(ctx, params)
}

// sleep waits for d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
