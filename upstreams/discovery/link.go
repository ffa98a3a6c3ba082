package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/internal/backoff"
	"github.com/mcpgw/mcpgw/upstreams"
)

// link is discovery's view of one upstream: a goroutine (run) that keeps a
// session open and its lists current, and the state it publishes.
type link struct {
	alias     string
	up        *upstreams.Upstream // what the link was made for
	stop      context.CancelFunc  // ends run; nil until it runs
	done      chan struct{}       // closed when run has returned
	opts      *Options
	log       *slog.Logger
	client    *mcp.Client
	transport mcp.Transport
	refresh   chan struct{} // the upstream announced a */list_changed
	pending   atomic.Uint32 // listKind bits announced since the last listing
	failures  atomic.Uint64 // attempts that found the upstream unusable
	tried     chan struct{} // closed once the first attempt has finished
	triedOnce sync.Once

	mu          sync.Mutex
	cur         *session      // live session, nil while (re)connecting
	changed     chan struct{} // closed and replaced whenever cur changes
	listing     *Listing      // nil while the upstream is unreachable
	tools       []*mcp.Tool   // listing.Tools; nil while unreachable
	lastJSON    []byte        // tools as last reported to OnChange
	listingJSON []byte        // listing as last reported to OnListing
	lastErr     string        // why the last attempt failed; "" once listed
}

func newLink(up *upstreams.Upstream, t mcp.Transport, opts *Options) *link {
	alias := up.Alias
	l := &link{
		alias:       alias,
		up:          up,
		done:        make(chan struct{}),
		opts:        opts,
		log:         opts.Logger.With("upstream", alias),
		transport:   t,
		refresh:     make(chan struct{}, 1),
		tried:       make(chan struct{}),
		changed:     make(chan struct{}),
		lastJSON:    []byte("null"), // unreachable until the first listing
		listingJSON: []byte("null"),
	}
	// The handlers run on the session's read loop: only signal run.
	copts := &mcp.ClientOptions{
		Logger: l.log,
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
			l.announce(kindTools)
		},
		PromptListChangedHandler: func(context.Context, *mcp.PromptListChangedRequest) {
			l.announce(kindPrompts)
		},
		ResourceListChangedHandler: func(context.Context, *mcp.ResourceListChangedRequest) {
			l.announce(kindResources)
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
	b := backoff.Backoff{Min: l.opts.RetryMin, Max: l.opts.RetryMax}
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
			l.setErr(err)
			l.markTried()
			wait = b.Next()
			l.log.Warn("upstream unavailable", "error", err, "retry_in", wait.Round(time.Millisecond),
				"failures", l.failures.Add(1))
		case time.Since(start) >= l.opts.RetryMax:
			b.Reset()
			l.log.Info("upstream session ended, reconnecting", "error", err)
		default:
			wait = b.Next()
			l.log.Info("upstream session ended early", "error", err, "retry_in", wait.Round(time.Millisecond))
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}

// announce records that the upstream changed the lists in k and wakes run.
func (l *link) announce(k listKind) {
	l.pending.Or(uint32(k))
	select {
	case l.refresh <- struct{}{}:
	default: // a refresh is already pending
	}
}

// serve opens a session, lists everything the upstream offers and then
// follows the upstream until the session ends: it lists again what a
// list_changed names, and everything on each poll (the TTL). listed
// reports whether the tools were listed, that is whether the upstream was
// usable.
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
	l.pending.Store(0) // this listing covers whatever was announced before
	caps := s.cs.InitializeResult().Capabilities
	lctx, cancel := context.WithDeadline(ctx, deadline)
	err = l.list(lctx, s, nil, advertised(caps))
	cancel()
	if err != nil {
		return false, err
	}
	l.setSession(s)
	l.markTried()
	ls := l.snapshotListing()
	l.log.Info("upstream connected", "protocol_version", s.cs.InitializeResult().ProtocolVersion,
		"has_session", s.cs.ID() != "", "tools", len(ls.Tools), "prompts", len(ls.Prompts),
		"resources", len(ls.Resources), "resource_templates", len(ls.ResourceTemplates))

	var kinds listKind
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
			kinds = advertised(caps)
		}
		kinds |= listKind(l.pending.Swap(0))
		lctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
		err := l.list(lctx, s, l.snapshotListing(), kinds)
		cancel()
		kinds = 0
		if err != nil {
			return true, err
		}
	}
}

// list fetches every page of the lists in kinds (see fetch) on top of prev
// and publishes the result.
func (l *link) list(ctx context.Context, s *session, prev *Listing, kinds listKind) error {
	next, errs, err := fetch(ctx, s.cs, prev, kinds)
	if err != nil {
		return err
	}
	for _, e := range errs {
		l.log.Warn("upstream list failed; keeping the previous one", "error", e)
	}
	l.publish(next)
	return nil
}

// publish records ls (nil: unreachable) and reports changes: of the tools
// to OnChange, of anything to OnListing. It is only called from run, so
// reports are serial.
func (l *link) publish(ls *Listing) {
	var tools []*mcp.Tool
	if ls != nil {
		tools = ls.Tools
	}
	data, err := json.Marshal(tools)
	if err != nil {
		// Lists decoded from JSON always encode; keep going regardless.
		l.log.Error("encode tools", "error", err)
		data = nil
	}
	all, err := json.Marshal(ls)
	if err != nil {
		l.log.Error("encode listing", "error", err)
		all = nil
	}
	l.mu.Lock()
	same := data != nil && bytes.Equal(data, l.lastJSON)
	sameAll := all != nil && bytes.Equal(all, l.listingJSON)
	l.tools = tools
	l.listing = ls
	if ls != nil {
		l.lastErr = ""
	}
	l.lastJSON = data
	l.listingJSON = all
	l.mu.Unlock()
	if !same {
		l.log.Debug("upstream tools changed", "tools", len(tools), "reachable", tools != nil)
		if l.opts.OnChange != nil {
			l.opts.OnChange(l.alias, tools)
		}
	}
	if !sameAll && l.opts.OnListing != nil {
		l.opts.OnListing(l.alias, ls)
	}
}

func (l *link) setErr(err error) {
	msg := "unavailable"
	if err != nil {
		msg = err.Error()
	}
	l.mu.Lock()
	l.lastErr = msg
	l.mu.Unlock()
}

// health is what the link knows of the upstream now.
func (l *link) health() Health {
	select {
	case <-l.tried:
	default:
		return Health{}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return Health{Tried: true, Listed: l.listing != nil, Error: l.lastErr}
}

func (l *link) snapshot() []*mcp.Tool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tools
}

func (l *link) snapshotListing() *Listing {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.listing
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
	return request(ctx, l, "call "+params.Name, func(ctx context.Context, cs *mcp.ClientSession) (*mcp.CallToolResult, error) {
		return cs.CallTool(ctx, params)
	})
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
