package aggregate

import (
	"bytes"
	"crypto/subtle"
	"io"
	"net/http"

	"github.com/mcpgw/mcpgw/internal/httpstatus"
	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// DirectDecider decides the requests Envoy sends the sidecar without
// asking the ext_proc service (direct lists, docs/architecture.md):
// extproc.Server.DecideDirect, the same router ext_proc asks.
type DirectDecider interface {
	// DecideDirect writes the reply that ends r and returns false, or
	// returns true and done, to be called with the status of the
	// sidecar's answer once it has served r.
	DecideDirect(w http.ResponseWriter, r *http.Request, body []byte) (serve bool, done func(status int))
}

// withDirect has d decide every request that carries token in
// wellknown.DirectListHeader (which only Envoy's direct route sets)
// before next serves it. A request without the header has been decided
// by the ext_proc service already. One with another value is refused:
// every other route removes a client's copy, so it can only come from an
// Envoy configured for another gateway, and nobody decided it.
func withDirect(d DirectDecider, token string, next http.Handler) http.Handler {
	if d == nil || token == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		values := r.Header.Values(wellknown.DirectListHeader)
		if len(values) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		r.Header.Del(wellknown.DirectListHeader)
		if len(values) != 1 || subtle.ConstantTimeCompare([]byte(values[0]), []byte(token)) != 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"internal error: the gateway could not decide this request"}}`)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxPeekBodySize+1))
		if err != nil || len(body) > maxPeekBodySize {
			http.Error(w, "bad request body", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		serve, done := d.DecideDirect(w, r, body)
		if !serve {
			return
		}
		sw := httpstatus.Wrap(w)
		next.ServeHTTP(sw, r)
		done(sw.Status())
	})
}
