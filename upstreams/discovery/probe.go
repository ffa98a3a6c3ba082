package discovery

import (
	"context"
	"net/http"
	"sync/atomic"
)

// A rejectProbe rides in a request's context and records whether the
// upstream refused a request that carried a session id with 400 or 404.
// go-sdk reports such answers as opaque errors when their body is not a
// JSON-RPC response it can decode (the TypeScript SDK's 400 error has no
// id), so the status is read at the HTTP layer instead. A refused request
// was not processed and may be sent again on a new session.
type rejectProbe struct{ hit atomic.Bool }

type rejectProbeKey struct{}

func withRejectProbe(ctx context.Context, p *rejectProbe) context.Context {
	return context.WithValue(ctx, rejectProbeKey{}, p)
}

// rejected reports whether a request under this probe was refused.
func (p *rejectProbe) rejected() bool { return p.hit.Load() }

// probeTransport feeds the rejectProbe of a request's context, if any.
type probeTransport struct{ base http.RoundTripper }

func (t *probeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	p, ok := req.Context().Value(rejectProbeKey{}).(*rejectProbe)
	if ok && req.Method == http.MethodPost && req.Header.Get("Mcp-Session-Id") != "" &&
		(resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusNotFound) {
		p.hit.Store(true)
	}
	return resp, nil
}

// CloseIdleConnections reaches through to the base transport.
func (t *probeTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

var _ http.RoundTripper = (*probeTransport)(nil)
