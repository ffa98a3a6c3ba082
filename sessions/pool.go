package sessions

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/sync/singleflight"

	"github.com/mcpgw/mcpgw/upstreams"
)

// Key names one upstream session: the client's gateway session and the
// upstream's alias. An empty ClientSession is the shared session used for
// clients that have none.
type Key struct {
	ClientSession string
	Alias         string
	// Modern is set for clients at protocol 2026-07-28 or later, which
	// have no sessions: they share one upstream session per alias, kept
	// apart from session-less clients of older versions.
	Modern bool
	// Capabilities are the client's, declared in the upstream initialize
	// so the upstream may ask the client for elicitation or sampling.
	Capabilities Capabilities
}

// Session is an upstream session as the calls that use it must present it.
type Session struct {
	// ID is the upstream's session id; "" when the upstream is stateless
	// (or speaks 2026-07-28 with this client).
	ID string
	// ProtocolVersion is the version negotiated with the upstream; calls
	// must carry it in MCP-Protocol-Version when it differs from the
	// client's (a 2026-07-28 client calling an older upstream).
	ProtocolVersion string
}

// Options configure a Pool. The zero value works.
type Options struct {
	// HTTPClient returns the client used to reach an upstream (it adds the
	// upstream's static credentials). Nil means http.DefaultClient.
	HTTPClient func(*upstreams.Upstream) *http.Client
	// ConnectTimeout bounds opening one upstream session. Zero means 10s.
	ConnectTimeout time.Duration
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Implementation is the client info sent upstream; nil means mcpgw.
	Implementation *mcp.Implementation
	// IdleTimeout closes an upstream session no call has used for this
	// long (Run sweeps for them). Most clients never send DELETE, and a
	// client session id expires anyway, so without it sessions would pile
	// up here and on the upstreams. Zero means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DefaultIdleTimeout is Options.IdleTimeout's default.
const DefaultIdleTimeout = time.Hour

// Pool opens and remembers upstream sessions. It is safe for concurrent use.
type Pool struct {
	opts  Options
	group singleflight.Group

	clientsMu sync.Mutex
	clients   map[Capabilities]*mcp.Client // one per set of client capabilities

	mu       sync.Mutex
	sessions map[Key]*entry
	closed   bool
}

type entry struct {
	id       string             // upstream session id; "" for stateless upstreams
	version  string             // negotiated protocol version
	cs       *mcp.ClientSession // kept open so the session stays alive
	lastUsed atomic.Int64       // unix nanoseconds of the last call that used it
}

// NewPool returns an empty pool.
func NewPool(opts Options) *Pool {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ConnectTimeout == 0 {
		opts.ConnectTimeout = 10 * time.Second
	}
	if opts.Implementation == nil {
		opts.Implementation = &mcp.Implementation{Name: "mcpgw", Version: "0.1.0"}
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Pool{
		opts:     opts,
		clients:  map[Capabilities]*mcp.Client{},
		sessions: make(map[Key]*entry),
	}
}

// Session returns the upstream session for key, opening it at
// protocolVersion on first use (go-sdk negotiates down if the upstream is
// older). Concurrent first calls share one initialize.
func (p *Pool) Session(ctx context.Context, key Key, up *upstreams.Upstream, protocolVersion string) (Session, error) {
	p.mu.Lock()
	if e, ok := p.sessions[key]; ok {
		p.mu.Unlock()
		e.lastUsed.Store(p.opts.Now().UnixNano())
		return Session{ID: e.id, ProtocolVersion: e.version}, nil
	}
	if p.closed {
		p.mu.Unlock()
		return Session{}, fmt.Errorf("sessions: pool closed")
	}
	p.mu.Unlock()

	flight := fmt.Sprintf("%s\x00%s\x00%v\x00%d", key.ClientSession, key.Alias, key.Modern, key.Capabilities)
	v, err, _ := p.group.Do(flight, func() (any, error) {
		// A flight that ended between our look and this one has opened
		// it already: do not open (and leak) a second.
		p.mu.Lock()
		e, ok := p.sessions[key]
		p.mu.Unlock()
		if ok {
			return e, nil
		}
		// Opening must outlive one caller's cancellation: other callers
		// may be waiting on the same flight.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.opts.ConnectTimeout)
		defer cancel()
		e, err := p.open(cctx, up, protocolVersion, key.Capabilities)
		if err != nil {
			return nil, err
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.closed {
			e.cs.Close()
			return nil, fmt.Errorf("sessions: pool closed")
		}
		p.sessions[key] = e
		return e, nil
	})
	if err != nil {
		return Session{}, err
	}
	e := v.(*entry)
	return Session{ID: e.id, ProtocolVersion: e.version}, nil
}

// client returns the go-sdk client declaring caps.
func (p *Pool) client(caps Capabilities) *mcp.Client {
	p.clientsMu.Lock()
	defer p.clientsMu.Unlock()
	c, ok := p.clients[caps]
	if !ok {
		c = mcp.NewClient(p.opts.Implementation, &mcp.ClientOptions{Capabilities: caps.client()})
		p.clients[caps] = c
	}
	return c
}

func (p *Pool) open(ctx context.Context, up *upstreams.Upstream, protocolVersion string, caps Capabilities) (*entry, error) {
	if up.URL == nil {
		return nil, fmt.Errorf("upstream %s has no url", up.Alias)
	}
	hc := http.DefaultClient
	if p.opts.HTTPClient != nil {
		hc = p.opts.HTTPClient(up)
	}
	transport := &mcp.StreamableClientTransport{
		Endpoint:   up.URL.String(),
		HTTPClient: hc,
		// Calls travel through Envoy; this session only needs to exist.
		DisableStandaloneSSE: true,
		MaxRetries:           -1,
	}
	start := time.Now()
	cs, err := p.client(caps).Connect(ctx, transport, &mcp.ClientSessionOptions{ProtocolVersion: protocolVersion})
	if err != nil {
		p.opts.Logger.Warn("open upstream session failed", "upstream", up.Alias, "error", err)
		return nil, fmt.Errorf("open session with upstream %s: %w", up.Alias, err)
	}
	p.opts.Logger.Debug("opened upstream session", "upstream", up.Alias,
		"stateless", cs.ID() == "", "duration", time.Since(start))
	e := &entry{id: cs.ID(), version: protocolVersion, cs: cs}
	e.lastUsed.Store(p.opts.Now().UnixNano())
	if res := cs.InitializeResult(); res != nil && res.ProtocolVersion != "" {
		e.version = res.ProtocolVersion
	}
	return e, nil
}

// Evict forgets the session for key if it is still id, so the next call
// opens a new one. Passing the id avoids evicting a newer session that a
// concurrent call has already opened.
func (p *Pool) Evict(key Key, id string) {
	p.mu.Lock()
	e, ok := p.sessions[key]
	if ok && e.id == id {
		delete(p.sessions, key)
	}
	p.mu.Unlock()
	if ok && e.id == id {
		go e.cs.Close()
	}
}

// EndClient closes every upstream session of one gateway session (the
// client sent DELETE).
func (p *Pool) EndClient(clientSession string) {
	if clientSession == "" {
		return
	}
	p.drop(func(k Key, _ *entry) bool { return k.ClientSession == clientSession })
}

// ExpireIdle closes the upstream sessions no call has used since
// IdleTimeout before now and returns how many it closed. Closing sends the
// upstream DELETE; a call that raced with it and finds the session gone
// is replayed on a new one (extproc).
func (p *Pool) ExpireIdle(now time.Time) int {
	cutoff := now.Add(-p.opts.IdleTimeout).UnixNano()
	n := p.drop(func(_ Key, e *entry) bool { return e.lastUsed.Load() < cutoff })
	if n > 0 {
		p.opts.Logger.Debug("closed idle upstream sessions", "sessions", n, "idle_timeout", p.opts.IdleTimeout)
	}
	return n
}

// drop forgets the sessions match selects and closes them (outside the
// lock: closing talks to the upstream). It returns how many.
func (p *Pool) drop(match func(Key, *entry) bool) int {
	var ended []*entry
	p.mu.Lock()
	for k, e := range p.sessions {
		if match(k, e) {
			ended = append(ended, e)
			delete(p.sessions, k)
		}
	}
	p.mu.Unlock()
	for _, e := range ended {
		go e.cs.Close()
	}
	return len(ended)
}

// Run expires idle sessions until ctx ends, checking a few times per
// IdleTimeout.
func (p *Pool) Run(ctx context.Context) {
	every := max(p.opts.IdleTimeout/4, time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.ExpireIdle(p.opts.Now())
		}
	}
}

// Len is the number of open upstream sessions.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.sessions)
}

// Close ends every upstream session.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	all := p.sessions
	p.sessions = map[Key]*entry{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, e := range all {
		wg.Go(func() { e.cs.Close() })
	}
	wg.Wait()
	return nil
}
