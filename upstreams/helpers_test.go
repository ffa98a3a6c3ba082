package upstreams

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// streamable is the go-sdk transport to up through hc (discovery's
// NewTransport, which this package cannot import).
func streamable(up *Upstream, hc *http.Client) (mcp.Transport, error) {
	return &mcp.StreamableClientTransport{Endpoint: up.URL.String(), HTTPClient: hc}, nil
}
