package extproc

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/extproc/router"
	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/credentials"
	"github.com/mcpgw/mcpgw/upstreams/credentials/tokens"
	"github.com/mcpgw/mcpgw/upstreams/sessions"
)

type fakeTokens struct {
	mu          sync.Mutex
	tok         string
	err         error
	calls       int
	invalidated int
}

func (f *fakeTokens) Token(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.tok, f.err
}
func (f *fakeTokens) Invalidate() { f.mu.Lock(); f.invalidated++; f.mu.Unlock() }

// keySessions records the keys sessions are asked for.
type keySessions struct {
	fakeSessions
	keys []sessions.Key
}

func (k *keySessions) Session(ctx context.Context, key sessions.Key, up *upstreams.Upstream, v string) (sessions.Session, error) {
	k.mu.Lock()
	k.keys = append(k.keys, key)
	k.mu.Unlock()
	return k.fakeSessions.Session(ctx, key, up, v)
}

func oauthServer(t *testing.T, src credentials.TokenSource) (*Server, *keySessions) {
	t.Helper()
	u, _ := url.Parse("http://127.0.0.1:9/mcp")
	names, _ := namespace.NewRegistry([]string{"billing"}, "-")
	up := &upstreams.Upstream{Alias: "billing", Transport: upstreams.TransportHTTP, URL: u, Cluster: "mcp_upstream_billing",
		Credentials: credentials.Server{Scheme: credentials.SchemeOAuth2, Token: src}}
	r, err := router.New(names, []*upstreams.Upstream{up}, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	fs := &keySessions{}
	return New(r, fs, nil), fs
}

// call sends one tools/call through the request phases and returns the
// body-phase response.
func call(t *testing.T, s *Server, st *requestState, extra ...string) *extprocv3.ProcessingResponse {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"billing-charge"}}`
	h := append([]string{":method", "POST", ":path", "/mcp"}, extra...)
	s.handle(t.Context(), st, &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{
		RequestHeaders: &extprocv3.HttpHeaders{Headers: hdrs(h...)}}})
	return s.handle(t.Context(), st, &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{
		RequestBody: &extprocv3.HttpBody{Body: []byte(body), EndOfStream: true}}})
}

func TestOAuth2TokenIsAttached(t *testing.T) {
	src := &fakeTokens{tok: "at-123"}
	s, _ := oauthServer(t, src)
	st := &requestState{router: s.router.Load()}
	resp := call(t, s, st, "authorization", "Bearer client-should-not-pass", "x-litellm-api-key", "sk-gw")
	m := resp.GetRequestBody().GetResponse().GetHeaderMutation()
	if got := set(m)["authorization"]; got != "Bearer at-123" {
		t.Errorf("authorization = %q, want the upstream's token", got)
	}
	if slices.Contains(m.GetRemoveHeaders(), "authorization") {
		t.Error("authorization both set and removed")
	}
	if !slices.Contains(m.GetRemoveHeaders(), "x-litellm-api-key") {
		t.Errorf("gateway key not removed: %v", m.GetRemoveHeaders())
	}
	// A 401 from the upstream drops the token.
	s.handle(t.Context(), st, &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{
		ResponseHeaders: &extprocv3.HttpHeaders{Headers: hdrs(":status", "401")}}})
	if src.invalidated != 1 {
		t.Errorf("token invalidated %d times after a 401, want 1", src.invalidated)
	}
}

func TestOAuth2TokenFailureIs502NamingServer(t *testing.T) {
	src := &fakeTokens{err: &tokens.Error{Server: "billing", Reason: "token endpoint answered HTTP 401 (invalid_client)"}}
	s, fs := oauthServer(t, src)
	resp := call(t, s, &requestState{router: s.router.Load()})
	ir := resp.GetImmediateResponse()
	if ir == nil || ir.GetStatus().GetCode() != 502 {
		t.Fatalf("response = %v, want a 502 immediate response", resp)
	}
	body := string(ir.GetBody())
	for _, want := range []string{`"id":7`, `-32603`, `upstream MCP server \"billing\" is unavailable`, "HTTP 401 (invalid_client)", "OAuth2"} {
		if !strings.Contains(body, want) {
			t.Errorf("body %s lacks %s", body, want)
		}
	}
	if len(fs.keys) != 0 {
		t.Error("an upstream session was opened without a token")
	}
}

func TestNoTokenSourceFailsClosed(t *testing.T) {
	s, _ := oauthServer(t, nil)
	resp := call(t, s, &requestState{router: s.router.Load()})
	if ir := resp.GetImmediateResponse(); ir == nil || ir.GetStatus().GetCode() != 502 ||
		!strings.Contains(string(ir.GetBody()), "send one in x-mcp-billing-authorization") {
		t.Fatalf("response = %v, want 502 explaining how to send a token", resp)
	}
	// The client's own token for this server is used instead.
	resp = call(t, s, &requestState{router: s.router.Load()}, "x-mcp-billing-authorization", "Bearer mine")
	if got := set(resp.GetRequestBody().GetResponse().GetHeaderMutation())["authorization"]; got != "Bearer mine" {
		t.Errorf("authorization = %q", got)
	}
}

// TestSessionKeyCredentials: clients with credentials of their own never
// share an upstream session with other credentials.
func TestSessionKeyCredentials(t *testing.T) {
	s, fs := oauthServer(t, &fakeTokens{tok: "t"})
	call(t, s, &requestState{router: s.router.Load()})
	call(t, s, &requestState{router: s.router.Load()}, "x-mcp-billing-authorization", "Bearer alice")
	call(t, s, &requestState{router: s.router.Load()}, "x-mcp-billing-authorization", "Bearer bob")
	call(t, s, &requestState{router: s.router.Load()}, "x-mcp-billing-authorization", "Bearer alice")
	call(t, s, &requestState{router: s.router.Load()}, "mcp-session-id", "gw-1", "x-mcp-billing-authorization", "Bearer bob")
	creds := make([]string, len(fs.keys))
	for i, k := range fs.keys {
		creds[i] = k.Credentials
	}
	if creds[0] != "" || creds[1] == "" || creds[1] == creds[2] || creds[1] != creds[3] || creds[4] != creds[2] || fs.keys[4].ClientSession != "gw-1" {
		t.Errorf("session credentials = %q", creds)
	}
	for _, c := range creds {
		if strings.Contains(c, "alice") || strings.Contains(c, "bob") {
			t.Errorf("session key %q contains a credential", c)
		}
	}
}
