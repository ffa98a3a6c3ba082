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
		return strings.TrimSuffix(gatewayURL, "/"), &http.Client{}
	}
	var d net.Dialer
	return "http://mcpgw", &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		},
		MaxIdleConnsPerHost: 64,
	}}
}

// GatewayClient is gatewayClient for the other clients of the gateway's
// own listener in this process (the admin UI's Try-it calls).
func GatewayClient(gatewayURL string) (base string, client *http.Client) {
	return gatewayClient(gatewayURL)
}
