package sessions

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
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
}

// Pool opens and remembers upstream sessions. It is safe for concurrent use.
type Pool struct {
	opts   Options
	client *mcp.Client
	group  singleflight.Group

	mu       sync.Mutex
	sessions map[Key]*entry
	closed   bool
}

type entry struct {
	id string             // upstream session id; "" for stateless upstreams
	cs *mcp.ClientSession // kept open so the session stays alive
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
	return &Pool{
		opts:     opts,
		client:   mcp.NewClient(opts.Implementation, nil),
		sessions: make(map[Key]*entry),
	}
}

// Session returns the upstream session id for key, opening the session at
// protocolVersion on first use. Concurrent first calls share one
// initialize. The id is "" when the upstream is stateless.
func (p *Pool) Session(ctx context.Context, key Key, up *upstreams.Upstream, protocolVersion string) (string, error) {
	p.mu.Lock()
	if e, ok := p.sessions[key]; ok {
		p.mu.Unlock()
		return e.id, nil
	}
	if p.closed {
		p.mu.Unlock()
		return "", fmt.Errorf("sessions: pool closed")
	}
	p.mu.Unlock()

	flight := key.ClientSession + "\x00" + key.Alias
	v, err, _ := p.group.Do(flight, func() (any, error) {
		// Opening must outlive one caller's cancellation: other callers
		// may be waiting on the same flight.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.opts.ConnectTimeout)
		defer cancel()
		e, err := p.open(cctx, up, protocolVersion)
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
		return "", err
	}
	return v.(*entry).id, nil
}

func (p *Pool) open(ctx context.Context, up *upstreams.Upstream, protocolVersion string) (*entry, error) {
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
	cs, err := p.client.Connect(ctx, transport, &mcp.ClientSessionOptions{ProtocolVersion: protocolVersion})
	if err != nil {
		p.opts.Logger.Warn("open upstream session failed", "upstream", up.Alias, "error", err)
		return nil, fmt.Errorf("open session with upstream %s: %w", up.Alias, err)
	}
	p.opts.Logger.Debug("opened upstream session", "upstream", up.Alias,
		"stateless", cs.ID() == "", "duration", time.Since(start))
	return &entry{id: cs.ID(), cs: cs}, nil
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
	var ended []*entry
	p.mu.Lock()
	for k, e := range p.sessions {
		if k.ClientSession == clientSession {
			ended = append(ended, e)
			delete(p.sessions, k)
		}
	}
	p.mu.Unlock()
	for _, e := range ended {
		go e.cs.Close()
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
