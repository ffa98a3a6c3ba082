package upstreams

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mcpgw/mcpgw/upstreams/credentials"
	"github.com/mcpgw/mcpgw/upstreams/credentials/tokens"
	"github.com/modelcontextprotocol/go-sdk/mcp"
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

// seenRequest is one request a capture server got.
type seenRequest struct {
	method string
	http.Header
}

// captureServer is a go-sdk MCP server that records the method and
// headers of every request it gets.
func captureServer(t *testing.T) (*httptest.Server, func() []seenRequest) {
	t.Helper()
	var mu sync.Mutex
	var seen []seenRequest
	srv := mcp.NewServer(&mcp.Implementation{Name: "s", Version: "1"}, nil)
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{DisableLocalhostProtection: true})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, seenRequest{r.Method, r.Header.Clone()})
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts, func() []seenRequest { mu.Lock(); defer mu.Unlock(); return append([]seenRequest(nil), seen...) }
}

// tokenEndpoint is a local OAuth2 token endpoint counting its requests;
// fail makes it refuse, echoing the request in its body.
func tokenEndpoint(t *testing.T, fail bool) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		if fail {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client", "echo": r.PostForm.Encode()})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("at-%d", i), "expires_in": 3600})
	}))
	t.Cleanup(ts.Close)
	return ts, &n
}

func oauthUpstream(t *testing.T, mcpURL, tokenURL string) *Upstream {
	t.Helper()
	src, err := tokens.New(tokens.Config{Server: "billing", TokenURL: tokenURL, ClientID: "gw", ClientSecret: "cs-secret"}, tokens.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &Upstream{Alias: "billing", Transport: TransportHTTP, URL: mustURL(t, mcpURL), Credentials: credentials.Server{
		Scheme: credentials.SchemeOAuth2, Token: src, Static: map[string]string{"X-Team": "a"},
	}}
}

// TestGatewayRequestsCarryOAuth2Token: everything the gateway sends on its
// own (initialize, notifications, tools/list) carries the token, fetched
// once.
func TestGatewayRequestsCarryOAuth2Token(t *testing.T) {
	mcpSrv, seen := captureServer(t)
	tokSrv, fetches := tokenEndpoint(t, false)
	up := oauthUpstream(t, mcpSrv.URL, tokSrv.URL)
	tr, err := streamable(up, HTTPClient(up))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "1"}, nil).Connect(t.Context(), tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.ListTools(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	cs.Close()
	hs := seen()
	if len(hs) < 3 {
		t.Fatalf("saw %d requests", len(hs))
	}
	for i, h := range hs {
		if h.Get("Authorization") != "Bearer at-1" || h.Get("X-Team") != "a" {
			t.Errorf("request %d: Authorization %q, X-Team %q", i, h.Get("Authorization"), h.Get("X-Team"))
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("token endpoint asked %d times, want 1", n)
	}
}

// TestCallCredentialsForSessionSetUp: a session opened for a routed call
// carries that call's credentials, not the gateway's defaults.
func TestCallCredentialsForSessionSetUp(t *testing.T) {
	mcpSrv, seen := captureServer(t)
	tokSrv, fetches := tokenEndpoint(t, false)
	up := oauthUpstream(t, mcpSrv.URL, tokSrv.URL)
	r, err := credentials.NewRewriter([]string{"billing"}, credentials.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	out := r.Outbound("billing", &up.Credentials, map[string]string{"x-mcp-billing-authorization": "Bearer client-own", "x-mcp-billing-x-user": "u1"})
	tr, _ := streamable(up, HTTPClient(up))
	ctx := WithCallCredentials(t.Context(), out)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "1"}, nil).Connect(ctx, tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs.Close()
	for i, h := range seen() {
		if h.method == http.MethodDelete {
			continue // closing the session is not part of setting it up
		}
		if h.Get("Authorization") != "Bearer client-own" || h.Get("X-User") != "u1" || h.Get("X-Team") != "a" {
			t.Errorf("request %d (%s): %v", i, h.method, h.Header)
		}
	}
	if n := fetches.Load(); n != 0 {
		t.Errorf("token fetched %d times although the client sent its own", n)
	}
}

func TestTokenFailureStopsTheRequest(t *testing.T) {
	mcpSrv, seen := captureServer(t)
	tokSrv, _ := tokenEndpoint(t, true)
	up := oauthUpstream(t, mcpSrv.URL, tokSrv.URL)
	tr, _ := streamable(up, HTTPClient(up))
	_, err := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "1"}, nil).Connect(t.Context(), tr, nil)
	if err == nil {
		t.Fatal("connected without a token")
	}
	if msg := err.Error(); !strings.Contains(msg, `"billing"`) || strings.Contains(msg, "cs-secret") || strings.Contains(msg, "client_secret") {
		t.Errorf("error = %q; want the server named and no secret", msg)
	}
	if len(seen()) != 0 {
		t.Error("a request reached the upstream without its token")
	}
}

func TestNoTokenSourceStopsTheRequest(t *testing.T) {
	mcpSrv, seen := captureServer(t)
	up := &Upstream{Alias: "billing", Transport: TransportHTTP, URL: mustURL(t, mcpSrv.URL), Credentials: credentials.Server{Scheme: credentials.SchemeOAuth2}}
	tr, _ := streamable(up, HTTPClient(up))
	if _, err := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "1"}, nil).Connect(t.Context(), tr, nil); err == nil {
		t.Fatal("connected without a token")
	}
	if len(seen()) != 0 {
		t.Error("a request reached the upstream without credentials")
	}
}

// countingTokens hands out "t<n>", n counting invalidations.
type countingTokens struct{ invalidated atomic.Int64 }

func (c *countingTokens) Token(context.Context) (string, error) {
	return fmt.Sprintf("t%d", c.invalidated.Load()), nil
}
func (c *countingTokens) Invalidate() { c.invalidated.Add(1) }

// A 401 to a request the transport gave the token drops that token: the
// next request carries a new one (discovery, sessions, the SSE adapter).
func TestTokenRefusedIsDropped(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
		if r.Header.Get("Authorization") == "Bearer t0" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	src := &countingTokens{}
	up := &Upstream{Alias: "billing", Transport: TransportHTTP, URL: mustURL(t, srv.URL),
		Credentials: credentials.Server{Scheme: credentials.SchemeOAuth2, Token: src}}
	c := HTTPClient(up)
	for range 2 {
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if src.invalidated.Load() != 1 || len(got) != 2 || got[1] != "Bearer t1" {
		t.Fatalf("invalidated %d, server got %q", src.invalidated.Load(), got)
	}
}

// DetachCallCredentials keeps a call's credentials and nothing else of
// its context: not its values, not its cancellation.
func TestDetachCallCredentials(t *testing.T) {
	type otherKey struct{}
	out := credentials.Outbound{Set: []credentials.Header{{Name: "Authorization", Value: "Bearer client-own"}}}
	ctx, cancel := context.WithCancel(context.WithValue(t.Context(), otherKey{}, "call state"))
	detached := DetachCallCredentials(WithCallCredentials(ctx, out))
	cancel()
	if detached.Err() != nil {
		t.Error("the detached context ended with the call's")
	}
	if detached.Value(otherKey{}) != nil {
		t.Error("the detached context keeps the call's other values")
	}
	got, ok := detached.Value(callCredentialsKey{}).(credentials.Outbound)
	if !ok || len(got.Set) != 1 || got.Set[0].Value != "Bearer client-own" {
		t.Errorf("credentials = %+v, %v", got, ok)
	}
	if DetachCallCredentials(t.Context()).Value(callCredentialsKey{}) != nil {
		t.Error("credentials from nowhere")
	}
}
