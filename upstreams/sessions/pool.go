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

	"github.com/mcpgw/mcpgw/internal/clientsession"
	"github.com/mcpgw/mcpgw/upstreams"
)

// Key names the upstream sessions of one kind of call: whose (the
// principal and the client's gateway session), to which upstream, and
// what the session must declare.
//
// A key with a ClientSession names one upstream session, used by every
// call of that client session (the client keeps its JSON-RPC ids apart
// within its session). A key without one is a client that keeps no
// session: every 2026-07-28 client, and older clients that skip
// initialize. Their calls lease a session of their own (see Session):
// never two calls at once on one upstream session, so their ids cannot
// collide, and never another principal's.
type Key struct {
	// Owner names the credential of the principal that makes the call
	// (identity.Principal.Owner): upstream state is never shared between
	// principals.
	Owner string
	// ClientSession is the client's gateway session id; "" for clients
	// without one.
	ClientSession string
	// Credentials names the client's own credentials for the upstream
	// (credentials.Outbound.ClientKey): a session opened with one client's
	// credentials is never used by requests that carry others.
	Credentials string
	Alias       string
	// Modern is set for clients at protocol 2026-07-28 or later.
	Modern bool
	// Capabilities are the client's, declared in the upstream initialize
	// so the upstream may ask the client for elicitation or sampling.
	Capabilities clientsession.Capabilities
}

// leased reports whether calls of k lease sessions one at a time.
func (k Key) leased() bool { return k.ClientSession == "" }

// Session is an upstream session as the calls that use it must present it.
type Session struct {
	// ID is the upstream's session id; "" when the upstream is stateless
	// (or speaks 2026-07-28 with this client).
	ID string
	// ProtocolVersion is the version negotiated with the upstream; calls
	// must carry it in MCP-Protocol-Version when it differs from the
	// client's (a 2026-07-28 client calling an older upstream).
	ProtocolVersion string

	key   Key
	entry *entry
}

// Leased reports whether s is held by one call until Release.
func (s Session) Leased() bool { return s.entry != nil && s.entry.leased }

// Options configure a Pool. The zero value works.
type Options struct {
	// HTTPClient returns the client used to reach an upstream (it adds the
	// upstream's static credentials). Nil means http.DefaultClient.
	HTTPClient func(*upstreams.Upstream) *http.Client
	// ConnectTimeout bounds opening one upstream session. Zero means
	// DefaultConnectTimeout.
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
	// MaxIdleLeased bounds the sessions kept for reuse per key of
	// session-less calls (more are closed when released). Zero means
	// DefaultMaxIdleLeased.
	MaxIdleLeased int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

const (
	// DefaultIdleTimeout is Options.IdleTimeout's default.
	DefaultIdleTimeout = time.Hour
	// DefaultConnectTimeout is Options.ConnectTimeout's default.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultMaxIdleLeased is Options.MaxIdleLeased's default: the
	// concurrency one principal's session-less calls reach on one
	// upstream without opening sessions anew.
	DefaultMaxIdleLeased = 32
)

// Pool opens and remembers upstream sessions. It is safe for concurrent use.
type Pool struct {
	opts  Options
	group singleflight.Group

	clientsMu sync.Mutex
	clients   map[clientsession.Capabilities]*mcp.Client // one per set of client capabilities

	mu sync.Mutex
	// sessions holds the session of each client-session key, and the
	// stateless "session" of each session-less key whose upstream keeps
	// none (nothing to lease: calls carry no session id).
	sessions map[Key]*entry
	// idle holds the leasable sessions of session-less keys not in use.
	idle map[Key][]*entry
	// leased are the sessions calls hold now.
	leased map[*entry]Key
	closed bool
}

type entry struct {
	id       string       // upstream session id; "" for stateless upstreams
	version  string       // negotiated protocol version
	r        *remote      // the upstream session (remote.go)
	lastUsed atomic.Int64 // unix nanoseconds of the last call that used it
	leased   bool         // held by one call at a time
	evicted  atomic.Bool  // the upstream lost it: never hand it out again
	// retired: its upstream was removed or changed (EndUpstreams) while a
	// call held it; giving it back closes it.
	retired atomic.Bool
}

// NewPool returns an empty pool.
func NewPool(opts Options) *Pool {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ConnectTimeout == 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	if opts.Implementation == nil {
		opts.Implementation = &mcp.Implementation{Name: "mcpgw", Version: "0.1.0"}
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.MaxIdleLeased <= 0 {
		opts.MaxIdleLeased = DefaultMaxIdleLeased
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Pool{
		opts:     opts,
		clients:  map[clientsession.Capabilities]*mcp.Client{},
		sessions: make(map[Key]*entry),
		idle:     make(map[Key][]*entry),
		leased:   make(map[*entry]Key),
	}
}

// Session returns an upstream session for a call of key, opening one at
// protocolVersion when needed (go-sdk negotiates down if the upstream is
// older).
//
// A client-session key has one session, opened on first use (concurrent
// first calls share one initialize). A session-less key's call gets a
// session no other call holds (s.Leased()), until it calls Release; an
// upstream that keeps no sessions is asked once and then called without
// any. Callers must Release every session they get.
func (p *Pool) Session(ctx context.Context, key Key, up *upstreams.Upstream, protocolVersion string) (Session, error) {
	now := p.opts.Now().UnixNano()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return Session{}, fmt.Errorf("sessions: pool closed")
	}
	if e, ok := p.sessions[key]; ok {
		p.mu.Unlock()
		e.lastUsed.Store(now)
		return Session{ID: e.id, ProtocolVersion: e.version, key: key, entry: e}, nil
	}
	if key.leased() {
		if idle := p.idle[key]; len(idle) > 0 {
			e := idle[len(idle)-1]
			p.idle[key] = idle[:len(idle)-1]
			if len(p.idle[key]) == 0 {
				delete(p.idle, key)
			}
			p.leased[e] = key
			p.mu.Unlock()
			e.lastUsed.Store(now)
			return Session{ID: e.id, ProtocolVersion: e.version, key: key, entry: e}, nil
		}
		p.mu.Unlock()
		return p.openLeased(ctx, key, up, protocolVersion)
	}
	p.mu.Unlock()

	flight := fmt.Sprintf("%q %q %q %s %v %d", key.Owner, key.ClientSession, key.Credentials, key.Alias, key.Modern, key.Capabilities)
	v, err, _ := p.group.Do(flight, func() (any, error) {
		// A flight that ended between our look and this one has opened
		// it already: do not open (and leak) a second.
		p.mu.Lock()
		e, ok := p.sessions[key]
		p.mu.Unlock()
		if ok {
			return e, nil
		}
		e, err := p.openDetached(ctx, up, protocolVersion, key.Capabilities)
		if err != nil {
			return nil, err
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.closed {
			go e.r.End()
			return nil, fmt.Errorf("sessions: pool closed")
		}
		p.sessions[key] = e
		return e, nil
	})
	if err != nil {
		return Session{}, err
	}
	e := v.(*entry)
	return Session{ID: e.id, ProtocolVersion: e.version, key: key, entry: e}, nil
}

// openLeased opens a session for one session-less call. If the upstream
// kept none (stateless, or 2026-07-28 with this client), there is nothing
// to keep apart: later calls of the key reuse that answer unleased.
func (p *Pool) openLeased(ctx context.Context, key Key, up *upstreams.Upstream, protocolVersion string) (Session, error) {
	e, err := p.openDetached(ctx, up, protocolVersion, key.Capabilities)
	if err != nil {
		return Session{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		go e.r.End()
		return Session{}, fmt.Errorf("sessions: pool closed")
	}
	if e.id == "" {
		if prev, ok := p.sessions[key]; ok {
			go e.r.End()
			e = prev
		} else {
			p.sessions[key] = e
		}
		return Session{ID: e.id, ProtocolVersion: e.version, key: key, entry: e}, nil
	}
	e.leased = true
	p.leased[e] = key
	return Session{ID: e.id, ProtocolVersion: e.version, key: key, entry: e}, nil
}

// Release ends a call's use of s after its answer ended. A leased
// session goes back to its key's idle sessions (or is closed when enough
// are idle, the pool is closed or the session was evicted); others stay
// as they are.
func (p *Pool) Release(s Session) { p.giveBack(s, true) }

// Discard ends a call's use of s when its answer did not end (the client
// went away, the gateway answered instead): the upstream may still be
// running the request, under an id the next call could reuse, so a leased
// session is closed (the upstream's DELETE ends that work too), never
// lent again.
func (p *Pool) Discard(s Session) { p.giveBack(s, false) }

func (p *Pool) giveBack(s Session, reusable bool) {
	e := s.entry
	if e == nil || !e.leased {
		return
	}
	p.mu.Lock()
	key, held := p.leased[e]
	if !held {
		p.mu.Unlock()
		return // given back twice
	}
	delete(p.leased, e)
	keep := reusable && !p.closed && !e.evicted.Load() && !e.retired.Load() && len(p.idle[key]) < p.opts.MaxIdleLeased
	if keep {
		e.lastUsed.Store(p.opts.Now().UnixNano())
		p.idle[key] = append(p.idle[key], e)
	}
	p.mu.Unlock()
	if !keep && !e.evicted.Load() {
		go e.r.End()
	}
}

// openDetached opens a session under the pool's connect timeout. Opening
// must outlive one caller's cancellation: other callers may be waiting on
// the same flight, and a leased session is kept for later calls.
func (p *Pool) openDetached(ctx context.Context, up *upstreams.Upstream, protocolVersion string, caps clientsession.Capabilities) (*entry, error) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.opts.ConnectTimeout)
	defer cancel()
	return p.open(cctx, up, protocolVersion, caps)
}

// client returns the go-sdk client declaring caps.
func (p *Pool) client(caps clientsession.Capabilities) *mcp.Client {
	p.clientsMu.Lock()
	defer p.clientsMu.Unlock()
	c, ok := p.clients[caps]
	if !ok {
		c = mcp.NewClient(p.opts.Implementation, &mcp.ClientOptions{Capabilities: clientCapabilities(caps)})
		p.clients[caps] = c
	}
	return c
}

func (p *Pool) open(ctx context.Context, up *upstreams.Upstream, protocolVersion string, caps clientsession.Capabilities) (*entry, error) {
	if up.URL == nil {
		return nil, fmt.Errorf("upstream %s has no url", up.Alias)
	}
	hc := http.DefaultClient
	if p.opts.HTTPClient != nil {
		hc = p.opts.HTTPClient(up)
	}
	sdkClient, held := holdingDeletes(hc)
	transport := &mcp.StreamableClientTransport{
		Endpoint:   up.URL.String(),
		HTTPClient: sdkClient,
		// Calls travel through Envoy; this session only needs to exist.
		DisableStandaloneSSE: true,
		MaxRetries:           -1,
	}
	start := time.Now()
	cs, err := p.connect(ctx, caps, transport, protocolVersion)
	if err != nil {
		p.opts.Logger.Warn("open upstream session failed", "upstream", up.Alias, "error", err)
		return nil, fmt.Errorf("open session with upstream %s: %w", up.Alias, err)
	}
	p.opts.Logger.Debug("opened upstream session", "upstream", up.Alias,
		"stateless", cs.ID() == "", "duration", time.Since(start))
	e := &entry{id: cs.ID(), version: protocolVersion}
	if res := cs.InitializeResult(); res != nil && res.ProtocolVersion != "" {
		e.version = res.ProtocolVersion
	}
	// The pool keeps the session; go-sdk's client session goes (remote.go).
	held.held.Store(true)
	cs.Close()
	e.r = &remote{url: up.URL.String(), id: e.id, version: e.version, hc: hc, ctx: upstreams.DetachCallCredentials(ctx)}
	e.lastUsed.Store(p.opts.Now().UnixNano())
	return e, nil
}

// connect runs go-sdk's Connect but returns when ctx ends, whatever
// Connect still does. When its initialize times out, Connect closes the
// session it began, and that Close can wait for the notifications/cancelled
// it sends to the same silent peer (up to 5 s): the call's set-up would
// outlast Envoy's message timeout, and the client get a bare 504 instead
// of the 502 naming the server. A session Connect opens after we gave up
// is closed.
func (p *Pool) connect(ctx context.Context, caps clientsession.Capabilities, t mcp.Transport, protocolVersion string) (*mcp.ClientSession, error) {
	type connected struct {
		cs  *mcp.ClientSession
		err error
	}
	done := make(chan connected, 1)
	go func() {
		cs, err := p.client(caps).Connect(ctx, t, &mcp.ClientSessionOptions{ProtocolVersion: protocolVersion})
		done <- connected{cs, err}
	}()
	select {
	case c := <-done:
		return c.cs, c.err
	case <-ctx.Done():
		go func() {
			if c := <-done; c.cs != nil {
				c.cs.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// Evict forgets s, which its upstream no longer knows, and closes it, so
// the next call of its key opens a new one. Evicting a session that a
// concurrent call has already replaced leaves the newer one alone. For a
// leased session the key's idle sessions go too: an upstream that lost
// one (it restarted) has lost them all, and a replay must not take
// another dead one.
func (p *Pool) Evict(s Session) {
	e := s.entry
	if e == nil || !e.evicted.CompareAndSwap(false, true) {
		return
	}
	var idle []*entry
	p.mu.Lock()
	if p.sessions[s.key] == e {
		delete(p.sessions, s.key)
	}
	if e.leased {
		idle = p.idle[s.key]
		delete(p.idle, s.key)
	}
	// A leased one is still held by its call; giving it back drops it.
	p.mu.Unlock()
	go e.r.End()
	for _, d := range idle {
		go d.r.End()
	}
}

// Alive asks the upstream whether it still knows s, with a ping on it. A
// 400 to a call says only that the call was refused (TypeScript servers
// answer 400 for an unknown session; go-sdk for a duplicate request id):
// only a session the upstream lost is worth replacing. ctx carries the
// call's credentials (upstreams.WithCallCredentials).
func (p *Pool) Alive(ctx context.Context, s Session) bool {
	if s.entry == nil || s.ID == "" {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.ConnectTimeout)
	defer cancel()
	return s.entry.r.Ping(ctx) == nil
}

// EndClient closes every upstream session of one gateway session (the
// client sent DELETE).
func (p *Pool) EndClient(clientSession string) {
	if clientSession == "" {
		return
	}
	p.drop(func(k Key, _ *entry) bool { return k.ClientSession == clientSession })
}

// EndUpstreams closes every session with the upstreams aliases, which
// were removed from the gateway or changed (a session opened to the old
// address or with the old credentials must not carry later calls). A
// session a call holds now is closed when the call gives it back, so the
// call finishes on it. It returns how many sessions it closed at once.
func (p *Pool) EndUpstreams(aliases ...string) int {
	if len(aliases) == 0 {
		return 0
	}
	gone := make(map[string]bool, len(aliases))
	for _, a := range aliases {
		gone[a] = true
	}
	p.mu.Lock()
	for e, k := range p.leased {
		if gone[k.Alias] {
			e.retired.Store(true)
		}
	}
	p.mu.Unlock()
	n := p.drop(func(k Key, _ *entry) bool { return gone[k.Alias] })
	if n > 0 {
		p.opts.Logger.Debug("closed upstream sessions of removed or changed upstreams", "sessions", n, "upstreams", aliases)
	}
	return n
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

// drop forgets the sessions match selects, kept or idle (a leased one is
// its call's until Release), and closes them (outside the lock: closing
// talks to the upstream). It returns how many.
func (p *Pool) drop(match func(Key, *entry) bool) int {
	var ended []*entry
	p.mu.Lock()
	for k, e := range p.sessions {
		if match(k, e) {
			ended = append(ended, e)
			delete(p.sessions, k)
		}
	}
	for k, idle := range p.idle {
		kept := idle[:0]
		for _, e := range idle {
			if match(k, e) {
				ended = append(ended, e)
			} else {
				kept = append(kept, e)
			}
		}
		if len(kept) == 0 {
			delete(p.idle, k)
		} else {
			p.idle[k] = kept
		}
	}
	p.mu.Unlock()
	for _, e := range ended {
		go e.r.End()
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

// Len is the number of open upstream sessions: kept, idle and leased.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.sessions) + len(p.leased)
	for _, idle := range p.idle {
		n += len(idle)
	}
	return n
}

// Close ends every upstream session; leased ones end when released.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	all := make([]*entry, 0, len(p.sessions))
	for _, e := range p.sessions {
		all = append(all, e)
	}
	for _, idle := range p.idle {
		all = append(all, idle...)
	}
	p.sessions, p.idle = map[Key]*entry{}, map[Key][]*entry{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, e := range all {
		wg.Go(func() { e.r.End() })
	}
	wg.Wait()
	return nil
}
