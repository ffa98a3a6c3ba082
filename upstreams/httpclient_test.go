package upstreams

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/upstreams/credentials"
)

func TestHTTPClientAddsStaticHeaders(t *testing.T) {
	var mu sync.Mutex
	var seen []http.Header
	var methods []string
	srv := mcp.NewServer(&mcp.Implementation{Name: "s", Version: "1"}, nil)
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{DisableLocalhostProtection: true})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		methods = append(methods, r.Method)
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	defer ts.Close()

	up := &Upstream{Alias: "a", Transport: TransportHTTP, URL: mustURL(t, ts.URL), Credentials: credentials.Server{
		Scheme: credentials.SchemeBearer,
		Auth:   map[string]string{"Authorization": "Bearer s3cret"},
		Static: map[string]string{
			"X-Tenant": "t1",
			"Accept":   "text/plain", // must not clobber the transport's own
		},
	}}
	tr, err := streamable(up, HTTPClient(up))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "1"}, nil).
		Connect(t.Context(), tr, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.ListTools(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	cs.Close()

	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 3 {
		t.Fatalf("saw %d requests, want at least initialize, initialized, tools/list", len(seen))
	}
	for i, hdr := range seen {
		if got := hdr.Get("Authorization"); got != "Bearer s3cret" {
			t.Errorf("request %d: Authorization = %q", i, got)
		}
		if got := hdr.Get("X-Tenant"); got != "t1" {
			t.Errorf("request %d: X-Tenant = %q", i, got)
		}
		if got := hdr.Get("Accept"); methods[i] != http.MethodDelete && got == "text/plain" {
			t.Errorf("request %d: static header replaced the transport's Accept", i)
		}
	}
}
