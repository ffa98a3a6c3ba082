package discovery

import (
	"context"
	"errors"
	"fmt"
	"github.com/mcpgw/mcpgw/upstreams"
	"net/http"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ProtocolVersion is the protocol version the gateway's own
// connections to upstreams ask for. Pinning it skips go-sdk's
// server/discover probe for 2026-07-28; an older server negotiates down.
const ProtocolVersion = "2025-11-25"

// ErrUnsupportedTransport is returned for upstreams this package cannot
// reach yet (stdio).
var ErrUnsupportedTransport = errors.New("unsupported upstream transport")

// NewTransport returns the go-sdk client transport for up, sending its
// requests through hc (see upstreams.NewHTTPClient).
func NewTransport(up *upstreams.Upstream, hc *http.Client) (mcp.Transport, error) {
	switch {
	case up.Adapter != nil:
		if up.URL == nil {
			return nil, fmt.Errorf("upstream %s: adapter endpoint not bound: %w", up.Alias, ErrUnsupportedTransport)
		}
	case up.Transport == upstreams.TransportHTTP, up.Transport == upstreams.TransportSSE:
		if up.URL == nil {
			return nil, fmt.Errorf("upstream %s: no url", up.Alias)
		}
	default:
		return nil, fmt.Errorf("upstream %s: transport %q: %w", up.Alias, up.Transport, ErrUnsupportedTransport)
	}
	if up.Transport == upstreams.TransportSSE && up.Adapter == nil {
		return &mcp.SSEClientTransport{Endpoint: up.URL.String(), HTTPClient: hc}, nil
	}
	// MaxRetries stays at go-sdk's default: it only governs resuming the
	// standalone SSE stream, which carries list_changed.
	return &mcp.StreamableClientTransport{Endpoint: up.URL.String(), HTTPClient: hc}, nil
}

// session is one live client session to an upstream.
type session struct {
	cs *mcp.ClientSession
	// done is closed once the connection has ended, for whatever reason
	// (upstream gone, keepalive failure, session missing, our Close).
	done chan struct{}
	// err is why the connection ended; read it only after done is closed.
	err error
	// stop closes the session and releases its context. Idempotent.
	stop func()
}

// open starts a client session, giving up after timeout. The session
// outlives the timeout: the legacy SSE transport ties its event stream to
// the context given to Connect, so that context lives until stop and only
// the wait is bounded.
func open(ctx context.Context, c *mcp.Client, t mcp.Transport, timeout time.Duration) (*session, error) {
	sctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(timeout, cancel)
	cs, err := c.Connect(sctx, t, &mcp.ClientSessionOptions{ProtocolVersion: ProtocolVersion})
	inTime := timer.Stop()
	if err != nil {
		cancel()
		if !inTime && ctx.Err() == nil {
			return nil, fmt.Errorf("connect: no answer within %v", timeout)
		}
		return nil, fmt.Errorf("connect: %w", err)
	}
	if !inTime {
		// The timer fired as Connect returned; the session's context may
		// already be cancelled, so do not use it.
		cs.Close()
		cancel()
		return nil, fmt.Errorf("connect: no answer within %v", timeout)
	}
	s := &session{cs: cs, done: make(chan struct{})}
	go func() {
		s.err = cs.Wait()
		close(s.done)
	}()
	s.stop = func() {
		// Close first, so a Streamable HTTP session ends with its DELETE.
		// A legacy SSE session's Close once hung for minutes waiting for
		// its reader (seen in make test against server-everything in sse
		// mode; not reproduced since): after a grace period, cancel the
		// context the event stream runs under, and never wait forever.
		closed := make(chan struct{})
		go func() {
			cs.Close()
			close(closed)
		}()
		select {
		case <-closed:
		case <-time.After(closeGrace):
		}
		cancel()
		select {
		case <-closed:
		case <-time.After(closeGrace):
			// Give up waiting rather than hang a shutdown.
		}
	}
	return s, nil
}

// closeGrace bounds each wait of a session's stop.
const closeGrace = 2 * time.Second

// alive reports whether the session's connection is still up.
func (s *session) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// sessionLost reports whether err means the session is unusable and a new
// one is needed: the upstream no longer knows it (go-sdk's 404,
// mcp.ErrSessionMissing, or the TypeScript SDK's 400 "No valid session ID
// provided"), or the connection has closed.
func sessionLost(err error) bool {
	return unknownSession(err) || errors.Is(err, mcp.ErrConnectionClosed)
}

// unknownSession reports whether the upstream rejected a request because
// it does not know the session. Such a request was not processed, so it
// is safe to repeat on a new session.
func unknownSession(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, mcp.ErrSessionMissing) {
		return true
	}
	var werr *jsonrpc.Error
	return errors.As(err, &werr) && strings.Contains(strings.ToLower(werr.Message), "no valid session id")
}
