package discovery

import (
	"context"
	"errors"
	"fmt"
	"github.com/mcpgw/mcpgw/upstreams"
	"io"
	"log/slog"
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
	links   map[string]*link
	order   []string
	ownedRT *http.Transport // closed by Close; nil if the caller gave one

	mu      sync.Mutex
	started bool
	closed  bool
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
	rt = &probeTransport{base: rt}
	for _, up := range ups {
		if up == nil {
			return nil, fmt.Errorf("discovery: nil upstream")
		}
		if _, dup := d.links[up.Alias]; dup {
			return nil, fmt.Errorf("discovery: duplicate upstream alias %q", up.Alias)
		}
		t, err := NewTransport(up, upstreams.NewHTTPClient(up, rt))
		if errors.Is(err, ErrUnsupportedTransport) {
			opts.Logger.Warn("upstream skipped by discovery", "upstream", up.Alias, "error", err)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("discovery: %w", err)
		}
		d.links[up.Alias] = newLink(up.Alias, t, &d.opts)
		d.order = append(d.order, up.Alias)
	}
	return d, nil
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
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.cancel = cancel
	for _, alias := range d.order {
		l := d.links[alias]
		d.wg.Go(func() { l.run(runCtx) })
	}
	d.mu.Unlock()

	timer := time.NewTimer(d.opts.Timeout)
	defer timer.Stop()
	for _, alias := range d.order {
		select {
		case <-d.links[alias].tried:
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
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

// Tools returns the tools of every upstream that is currently reachable,
// by alias. The map is the caller's; the tools are shared and must not be
// modified.
func (d *Discovery) Tools() map[string][]*mcp.Tool {
	out := make(map[string][]*mcp.Tool, len(d.links))
	for alias, l := range d.links {
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
	out := make(map[string]uint64, len(d.links))
	for alias, l := range d.links {
		out[alias] = l.failures.Load()
	}
	return out
}

// Listings returns what every currently reachable upstream offers, by
// alias. The map is the caller's; the listings are shared and must not be
// modified.
func (d *Discovery) Listings() map[string]*Listing {
	out := make(map[string]*Listing, len(d.links))
	for alias, l := range d.links {
		if ls := l.snapshotListing(); ls != nil {
			out[alias] = ls
		}
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
	l := d.links[alias]
	if l == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownUpstream, alias)
	}
	return l.callTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
}

var _ io.Closer = (*Discovery)(nil)
