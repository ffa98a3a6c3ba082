package upstreams

import (
	"net/http"
	"strings"
)

// HTTPClient returns an HTTP client for up over http.DefaultTransport
// (shared, so connections are reused); see NewHTTPClient. Its signature
// fits sessions.Options.HTTPClient.
func HTTPClient(up *Upstream) *http.Client { return NewHTTPClient(up, nil) }

// NewHTTPClient returns an HTTP client for talking to up: every request it
// sends carries up.Headers (the upstream's static credentials). base does
// the actual round trips; nil means http.DefaultTransport.
//
// The client has no overall timeout, since MCP keeps SSE streams open for
// the life of a session; bound each request with its context instead.
func NewHTTPClient(up *Upstream, base http.RoundTripper) *http.Client {
	if base == nil {
		base = http.DefaultTransport
	}
	if len(up.Headers) == 0 {
		return &http.Client{Transport: base}
	}
	return &http.Client{Transport: &headerTransport{base: base, headers: up.Headers}}
}

// headerTransport adds static headers to every request. It never logs or
// returns the header values: they are secrets.
type headerTransport struct {
	base    http.RoundTripper
	headers map[string]string
}

// RoundTrip implements http.RoundTripper. It sets the configured headers on
// a clone of req (a RoundTripper must not modify its request). A header the
// request already carries is left alone, so configuration cannot break the
// MCP transport headers (Accept, Content-Type, Mcp-Session-Id, ...).
func (t *headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	for k, v := range t.headers {
		if strings.EqualFold(k, "Host") {
			r.Host = v // net/http ignores a Host entry in the header map
			continue
		}
		if r.Header.Get(k) == "" {
			r.Header.Set(k, v)
		}
	}
	return t.base.RoundTrip(r)
}

// CloseIdleConnections closes idle connections of the base transport, so
// (*http.Client).CloseIdleConnections reaches through this wrapper.
func (t *headerTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

var _ http.RoundTripper = (*headerTransport)(nil)
