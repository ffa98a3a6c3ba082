package aggregate

import (
	"context"
	"net"
	"net/http"
	"strings"
)

// gatewayClient returns the base URL and the HTTP client of requests back
// into the gateway (Options.GatewayURL). A "unix:<path>" URL dials Envoy's
// internal socket; the requests then name the host "mcpgw", which
// Envoy's routes do not look at.
func gatewayClient(gatewayURL string) (base string, client *http.Client) {
	path, ok := strings.CutPrefix(gatewayURL, "unix:")
	if !ok {
		return strings.TrimSuffix(gatewayURL, "/"), &http.Client{CheckRedirect: noRedirects}
	}
	var d net.Dialer
	return "http://mcpgw", &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		},
		MaxIdleConnsPerHost: 64,
	}, CheckRedirect: noRedirects}
}

// noRedirects hands a redirect back as the answer: these requests carry
// a client's key in the gateway's key header (x-litellm-api-key by
// default), which Go's client copies to whatever host a redirect names,
// and an upstream's 3xx comes back through Envoy as it is.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// GatewayClient is gatewayClient for the other clients of the gateway's
// own listener in this process (the admin UI's Try-it calls).
func GatewayClient(gatewayURL string) (base string, client *http.Client) {
	return gatewayClient(gatewayURL)
}
