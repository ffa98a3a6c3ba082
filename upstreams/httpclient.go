package upstreams

import (
	"context"
	"fmt"
	"net/http"

	"github.com/mcpgw/mcpgw/upstreams/credentials"
)

// HTTPClient returns an HTTP client for up over http.DefaultTransport
// (shared, so connections are reused); see NewHTTPClient. Its signature
// fits sessions.Options.HTTPClient.
func HTTPClient(up *Upstream) *http.Client { return NewHTTPClient(up, nil) }

// NewHTTPClient returns an HTTP client for talking to up: every request it
// sends carries up's credentials (see setCredentials). base does the
// actual round trips; nil means http.DefaultTransport.
//
// The client has no overall timeout, since MCP keeps SSE streams open for
// the life of a session; bound each request with its context instead.
func NewHTTPClient(up *Upstream, base http.RoundTripper) *http.Client {
	if base == nil {
		base = http.DefaultTransport
	}
	return &http.Client{
		Transport: &headerTransport{base: base, up: up, gateway: up.Credentials.Gateway()},
		// The transport adds the credentials on every hop.
		CheckRedirect: credentials.SameHostRedirects,
	}
}

// headerTransport adds an upstream's credentials to every request. It
// never logs or returns the header values: they are secrets.
type headerTransport struct {
	base    http.RoundTripper
	up      *Upstream
	gateway credentials.Outbound // what the gateway's own requests carry
}

// RoundTrip implements http.RoundTripper. It sets the credentials on a
// clone of req (a RoundTripper must not modify its request). A header the
// request already carries is left alone, so configuration cannot break the
// MCP transport headers (Accept, Content-Type, Mcp-Session-Id, ...).
func (t *headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	tokenSet, err := t.setCredentials(r)
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	resp, err := t.base.RoundTrip(r)
	if err == nil && tokenSet && resp.StatusCode == http.StatusUnauthorized {
		t.up.Credentials.Token.Invalidate() // the next request fetches a new one
	}
	return resp, err
}

// CloseIdleConnections closes idle connections of the base transport, so
// (*http.Client).CloseIdleConnections reaches through this wrapper.
func (t *headerTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

var _ http.RoundTripper = (*headerTransport)(nil)

// callCredentialsKey carries the credentials of a routed call in a context.
type callCredentialsKey struct{}

// WithCallCredentials returns a context whose requests (through
// NewHTTPClient's clients) carry out, the credentials a routed call sends
// its upstream, instead of the gateway's own: an upstream session opened
// for a call is opened with that call's credentials. Values are secrets.
func WithCallCredentials(ctx context.Context, out credentials.Outbound) context.Context {
	return context.WithValue(ctx, callCredentialsKey{}, out)
}

// DetachCallCredentials returns a context holding only the call
// credentials ctx carries (if any): for work that outlives the call, such
// as ending the upstream session it opened, without keeping the call's
// context (and what it holds, such as its gRPC stream) alive.
func DetachCallCredentials(ctx context.Context) context.Context {
	out, ok := ctx.Value(callCredentialsKey{}).(credentials.Outbound)
	if !ok {
		return context.Background()
	}
	return WithCallCredentials(context.Background(), out)
}

// setCredentials adds to r the credentials of the routed call its context
// carries, else the gateway's own for the upstream, then the OAuth2
// token when one is needed and its header is still unset. Errors name
// the upstream and never contain a secret.
func (t *headerTransport) setCredentials(r *http.Request) (tokenSet bool, err error) {
	out, ok := r.Context().Value(callCredentialsKey{}).(credentials.Outbound)
	if !ok {
		out = t.gateway
	}
	for _, h := range out.Set {
		if r.Header.Get(h.Name) == "" {
			r.Header.Set(h.Name, h.Value)
		}
	}
	if !out.Token || r.Header.Get(out.TokenHeader) != "" {
		return false, nil
	}
	src := t.up.Credentials.Token
	if src == nil {
		return false, fmt.Errorf("upstream %s: %w", t.up.Alias, credentials.ErrNoTokenSource)
	}
	tok, err := src.Token(r.Context())
	if err != nil {
		return false, err
	}
	r.Header.Set(out.TokenHeader, "Bearer "+tok)
	return true, nil
}
