package upstreams

import (
	"context"
	"fmt"
	"net/http"

	"github.com/mcpgw/mcpgw/upstreams/credentials"
)

// callCredentialsKey carries the credentials of a routed call in a context.
type callCredentialsKey struct{}

// WithCallCredentials returns a context whose requests (through
// NewHTTPClient's clients) carry out, the credentials a routed call sends
// its upstream, instead of the gateway's own: an upstream session opened
// for a call is opened with that call's credentials. Values are secrets.
func WithCallCredentials(ctx context.Context, out credentials.Outbound) context.Context {
	return context.WithValue(ctx, callCredentialsKey{}, out)
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
