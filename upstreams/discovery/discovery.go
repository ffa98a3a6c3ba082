package discovery

import (
	"context"
	"errors"
	"fmt"
	"github.com/mcpgw/mcpgw/upstreams"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ErrUnknownUpstream is returned by CallTool for an alias Discovery does not
// serve.
var ErrUnknownUpstream = errors.New("unknown upstream")

// ErrUpstreamUnavailable is returned by CallTool when the upstream has no
// live session and none came up within the discovery timeout.
var ErrUpstreamUnavailable = errors.New("upstream unavailable")

// Options configure a Discovery. The zero value works.
type Options struct {
	// Timeout bounds connecting to one upstream plus listing its tools, and
	// how long CallTool waits for a session to come up. Zero means 5s.
	Timeout time.Duration
	// KeepAlive is the interval of the pings that notice a dead upstream.
	// Zero means 15s; negative disables pings.
	KeepAlive time.Duration
	// PollInterval is the lists' TTL: how often an upstream's tools,
	// prompts, resources and resource templates are re-listed without
	// being told to. Stateless upstreams cannot send */list_changed,
	// others may not support it or lose one while their stream
	// reconnects. Only real changes are reported. Zero means 1m; negative
	// disables polling.
	PollInterval time.Duration
	// RetryMin and RetryMax bound the reconnect backoff. Zero means 500ms
	// and 30s.
	RetryMin, RetryMax time.Duration
	// OnChange, if set, is called whenever an upstream's tool list differs
	// from the one last reported: with the new list, or with nil when the
	// upstream became unreachable. Calls for one alias are serial, calls for
	// different aliases may run concurrently. OnChange must not modify the
	// tools, and it delays that upstream's discovery while it runs.
	OnChange func(alias string, tools []*mcp.Tool)
	// OnListing, if set, is called whenever anything an upstream offers
	// (see Listing) differs from what was last reported: with the new
	// Listing, or with nil when the upstream became unreachable. It is
	// called after OnChange, under the same rules.
	OnListing func(alias string, l *Listing)
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Implementation is the client info sent upstream; nil means mcpgw.
	Implementation *mcp.Implementation
	// RoundTripper carries the HTTP requests. Nil means a private clone of
	// http.DefaultTransport, whose idle connections Close releases.
	RoundTripper http.RoundTripper
}

func (o *Options) applyDefaults() {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.KeepAlive == 0 {
		o.KeepAlive = 15 * time.Second
	}
	if o.PollInterval == 0 {
		o.PollInterval = time.Minute
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 500 * time.Millisecond
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 30 * time.Second
	}
	o.RetryMax = max(o.RetryMax, o.RetryMin)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Implementation == nil {
		o.Implementation = &mcp.Implementation{Name: "mcpgw", Version: "0.1.0"}
	}
}

// Discovery keeps one long-lived client session to each upstream and knows
// the tools each one offers. Each upstream is served by its own goroutine,
// so a dead or slow upstream never holds up the others. It is safe for
// concurrent use.
type Discovery struct {
	opts    Options
	ownedRT *http.Transport   // closed by Close; nil if the caller gave one
	rt      http.RoundTripper // carries every link's requests

	mu      sync.Mutex
	links   map[string]*link // replaced by Update
	order   []string
	started bool
	closed  bool
	runCtx  context.Context // every link's, ended by Close
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New prepares discovery for ups; Start begins it. Upstreams whose
// transport this package cannot reach yet (stdio) are skipped with a
// warning. Aliases must be unique.
func New(ups []*upstreams.Upstream, opts Options) (*Discovery, error) {
	opts.applyDefaults()
	d := &Discovery{opts: opts, links: make(map[string]*link, len(ups))}
	rt := opts.RoundTripper
	if rt == nil {
		rt = http.DefaultTransport
		if t, ok := rt.(*http.Transport); ok {
			d.ownedRT = t.Clone()
			rt = d.ownedRT
		}
	}
	d.rt = &probeTransport{base: rt}
	links, err := d.newLinks(ups)
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		d.links[l.alias] = l
		d.order = append(d.order, l.alias)
	}
	return d, nil
}

// newLinks checks ups and builds a link for each one this package can
// reach, in order; nothing runs yet.
func (d *Discovery) newLinks(ups []*upstreams.Upstream) ([]*link, error) {
	seen := make(map[string]bool, len(ups))
	var out []*link
	for _, up := range ups {
		if up == nil {
			return nil, fmt.Errorf("discovery: nil upstream")
		}
		if seen[up.Alias] {
			return nil, fmt.Errorf("discovery: duplicate upstream alias %q", up.Alias)
		}
		seen[up.Alias] = true
		t, err := NewTransport(up, upstreams.NewHTTPClient(up, d.rt))
		if errors.Is(err, ErrUnsupportedTransport) {
			d.opts.Logger.Warn("upstream skipped by discovery", "upstream", up.Alias, "error", err)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("discovery: %w", err)
		}
		out = append(out, newLink(up, t, &d.opts))
	}
	return out, nil
}

// Start begins discovery and returns once every upstream has been tried
// once, or after the timeout, whichever comes first; upstreams that are
// down or slow keep being retried in the background. ctx bounds only that
// wait (its values are kept): discovery runs until Close.
func (d *Discovery) Start(ctx context.Context) error {
	d.mu.Lock()
	if d.started || d.closed {
		d.mu.Unlock()
		return fmt.Errorf("discovery: already started or closed")
	}
	d.started = true
	d.runCtx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
	links := make([]*link, 0, len(d.order))
	for _, alias := range d.order {
		l := d.links[alias]
		d.runLink(l)
		links = append(links, l)
	}
	d.mu.Unlock()
	return d.awaitTried(ctx, links)
}

// runLink starts l's goroutine; d.mu is held and discovery started.
func (d *Discovery) runLink(l *link) {
	lctx, cancel := context.WithCancel(d.runCtx)
	l.stop = cancel
	d.wg.Go(func() {
		defer close(l.done)
		l.run(lctx)
	})
}

// awaitTried waits until every link has been tried once, or the
// discovery timeout, or ctx ends.
func (d *Discovery) awaitTried(ctx context.Context, links []*link) error {
	timer := time.NewTimer(d.opts.Timeout)
	defer timer.Stop()
	for _, l := range links {
		select {
		case <-l.tried:
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Update makes ups the upstreams discovery follows, while it runs (or
// before Start): an upstream that is new gets a link, one that is gone
// has its link stopped and its lists withdrawn (OnChange and OnListing
// with nil), and one whose connection changed (see
// upstreams.SameConnection) gets both. Links of unchanged upstreams, and
// their sessions, are kept. It reports the aliases whose links stopped
// and started, and returns once the new links have been tried once or
// after the discovery timeout, like Start. An error (a nil or duplicate
// upstream, one that cannot be reached by any transport) changes
// nothing.
func (d *Discovery) Update(ctx context.Context, ups []*upstreams.Upstream) (stopped, started []string, err error) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil, nil, fmt.Errorf("discovery: closed")
	}
	keep := make(map[string]bool, len(ups))
	seen := make(map[string]bool, len(ups))
	var fresh []*upstreams.Upstream
	for _, up := range ups {
		if up == nil || seen[up.Alias] {
			d.mu.Unlock()
			return nil, nil, fmt.Errorf("discovery: nil or duplicate upstream")
		}
		seen[up.Alias] = true
		if l := d.links[up.Alias]; l != nil && upstreams.SameConnection(l.up, up) {
			keep[up.Alias] = true
			continue
		}
		fresh = append(fresh, up)
	}
	added, err := d.newLinks(fresh)
	if err != nil {
		d.mu.Unlock()
		return nil, nil, err
	}
	var gone []*link
	order := make([]string, 0, len(ups))
	for _, alias := range d.order {
		if keep[alias] {
			continue
		}
		gone = append(gone, d.links[alias])
		delete(d.links, alias)
	}
	for _, l := range gone {
		if l.stop != nil {
			l.stop()
		}
	}
	d.mu.Unlock()
	// Wait for the stopped links outside the lock: their goroutines may
	// be reporting (OnChange) and readers must not block meanwhile.
	for _, l := range gone {
		if l.stop != nil {
			<-l.done
		}
		stopped = append(stopped, l.alias)
		if d.opts.OnChange != nil {
			d.opts.OnChange(l.alias, nil)
		}
		if d.opts.OnListing != nil {
			d.opts.OnListing(l.alias, nil)
		}
		l.log.Info("upstream link stopped: the upstream was removed or changed")
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return stopped, nil, fmt.Errorf("discovery: closed")
	}
	for _, l := range added {
		d.links[l.alias] = l
		if d.started {
			d.runLink(l)
		}
		started = append(started, l.alias)
	}
	for _, up := range ups {
		if d.links[up.Alias] != nil {
			order = append(order, up.Alias)
		}
	}
	d.order = order
	run := d.started
	d.mu.Unlock()
	if !run {
		return stopped, started, nil
	}
	return stopped, started, d.awaitTried(ctx, added)
}

// Close stops discovery, closes every upstream session and waits for the
// goroutines to end. It is safe to call more than once, and before Start.
func (d *Discovery) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	cancel := d.cancel
	d.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	d.wg.Wait()
	if d.ownedRT != nil {
		d.ownedRT.CloseIdleConnections()
	}
	return nil
}

// link returns alias's link, nil when there is none.
func (d *Discovery) link(alias string) *link {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.links[alias]
}

// current returns every link.
func (d *Discovery) current() map[string]*link {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.links)
}

// Tools returns the tools of every upstream that is currently reachable,
// by alias. The map is the caller's; the tools are shared and must not be
// modified.
func (d *Discovery) Tools() map[string][]*mcp.Tool {
	links := d.current()
	out := make(map[string][]*mcp.Tool, len(links))
	for alias, l := range links {
		if tools := l.snapshot(); tools != nil {
			out[alias] = tools
		}
	}
	return out
}

// Failures returns, by alias, how many connection attempts found each
// upstream unusable (down, too slow, or answering nonsense) since Start.
// A metrics exporter reads it; logs carry the same count.
func (d *Discovery) Failures() map[string]uint64 {
	links := d.current()
	out := make(map[string]uint64, len(links))
	for alias, l := range links {
		out[alias] = l.failures.Load()
	}
	return out
}

// Listings returns what every currently reachable upstream offers, by
// alias. The map is the caller's; the listings are shared and must not be
// modified.
func (d *Discovery) Listings() map[string]*Listing {
	links := d.current()
	out := make(map[string]*Listing, len(links))
	for alias, l := range links {
		if ls := l.snapshotListing(); ls != nil {
			out[alias] = ls
		}
	}
	return out
}

// Health is what discovery knows of one upstream: whether its session is
// up and its lists current, and why not. It costs the upstream nothing:
// discovery keeps that session anyway.
type Health struct {
	Tried  bool   // the first attempt has finished
	Listed bool   // the upstream is connected and listed
	Error  string // why the last attempt failed, while not Listed
}

// Health returns the health of every upstream discovery follows.
func (d *Discovery) Health() map[string]Health {
	links := d.current()
	out := make(map[string]Health, len(links))
	for alias, l := range links {
		out[alias] = l.health()
	}
	return out
}

// CallTool calls the tool name (the upstream's own name, unprefixed) on
// the upstream alias through the discovery session. If the upstream has
// lost the session, CallTool waits for a new one and tries once more; a
// call whose connection broke mid-flight is not repeated, since the
// upstream may have run it. A JSON-RPC error from the upstream is returned
// as a *jsonrpc.Error (errors.As).
func (d *Discovery) CallTool(ctx context.Context, alias, name string, args any) (*mcp.CallToolResult, error) {
	l := d.link(alias)
	if l == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownUpstream, alias)
	}
	return l.callTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
}

var _ io.Closer = (*Discovery)(nil)
