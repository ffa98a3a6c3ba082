package credentials

import (
	"context"
	"slices"
	"strings"
	"testing"
)

type fakeTokens struct{}

func (fakeTokens) Token(context.Context) (string, error) { return "tok", nil }
func (fakeTokens) Invalidate()                           {}

func mustRewriter(t *testing.T, s Settings) *Rewriter {
	t.Helper()
	r, err := NewRewriter([]string{"gh", "gh-enterprise", "other"}, s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestOutboundPrecedence is the precedence table of docs/headers.md:
// per header, server credential < legacy header < x-mcp-<alias>-<header>
// < extra_headers < static_headers.
func TestOutboundPrecedence(t *testing.T) {
	bearer := map[string]string{"Authorization": "Bearer server"}
	tests := []struct {
		name      string
		srv       Server
		client    map[string]string
		want      map[string]string
		wantToken bool
	}{
		{
			name: "no credentials at all",
			srv:  Server{},
			want: map[string]string{},
		},
		{
			name: "server credential alone",
			srv:  Server{Scheme: SchemeBearer, Auth: bearer},
			want: map[string]string{"authorization": "Bearer server"},
		},
		{
			name:      "oauth2 token alone",
			srv:       Server{Scheme: SchemeOAuth2, Token: fakeTokens{}},
			want:      map[string]string{},
			wantToken: true,
		},
		{
			name:   "legacy header beats the server credential, written per auth_type",
			srv:    Server{Scheme: SchemeBearer, Auth: bearer},
			client: map[string]string{"x-mcp-auth": "legacy"},
			want:   map[string]string{"authorization": "Bearer legacy"},
		},
		{
			name:   "legacy header under api_key",
			srv:    Server{Scheme: SchemeAPIKey, Auth: map[string]string{"X-API-Key": "server"}},
			client: map[string]string{"x-mcp-auth": "legacy"},
			want:   map[string]string{"x-api-key": "legacy"},
		},
		{
			name:   "legacy header replaces the oauth2 token",
			srv:    Server{Scheme: SchemeOAuth2, Token: fakeTokens{}},
			client: map[string]string{"x-mcp-auth": "legacy"},
			want:   map[string]string{"authorization": "Bearer legacy"},
		},
		{
			name:   "legacy header is not sent to a server without auth_type",
			srv:    Server{},
			client: map[string]string{"x-mcp-auth": "legacy"},
			want:   map[string]string{},
		},
		{
			name:   "per-server header beats the server credential",
			srv:    Server{Scheme: SchemeBearer, Auth: bearer},
			client: map[string]string{"x-mcp-gh-authorization": "Bearer mine"},
			want:   map[string]string{"authorization": "Bearer mine"},
		},
		{
			name:   "per-server header beats the oauth2 token, which is then not fetched",
			srv:    Server{Scheme: SchemeOAuth2, Token: fakeTokens{}},
			client: map[string]string{"x-mcp-gh-authorization": "Bearer mine"},
			want:   map[string]string{"authorization": "Bearer mine"},
		},
		{
			name:   "a per-server header turns the legacy header off for that server",
			srv:    Server{Scheme: SchemeBearer, Auth: bearer},
			client: map[string]string{"x-mcp-auth": "legacy", "x-mcp-gh-x-trace": "1"},
			want:   map[string]string{"authorization": "Bearer server", "x-trace": "1"},
		},
		{
			name:   "per-server headers of other servers are not sent",
			srv:    Server{Scheme: SchemeBearer, Auth: bearer},
			client: map[string]string{"x-mcp-other-authorization": "Bearer theirs", "x-mcp-gh-enterprise-authorization": "Bearer ent"},
			want:   map[string]string{"authorization": "Bearer server"},
		},
		{
			name:   "extra_headers beat per-server headers",
			srv:    Server{Scheme: SchemeBearer, Auth: bearer, Extra: []string{"Authorization", "X-Tenant"}},
			client: map[string]string{"x-mcp-gh-authorization": "Bearer mine", "authorization": "Bearer raw", "x-tenant": "t1"},
			want:   map[string]string{"authorization": "Bearer raw", "x-tenant": "t1"},
		},
		{
			name:   "extra_headers only when the client sends them",
			srv:    Server{Scheme: SchemeBearer, Auth: bearer, Extra: []string{"Authorization", "X-Tenant"}},
			client: map[string]string{},
			want:   map[string]string{"authorization": "Bearer server"},
		},
		{
			name:   "static_headers beat everything",
			srv:    Server{Scheme: SchemeBearer, Auth: bearer, Extra: []string{"authorization"}, Static: map[string]string{"Authorization": "Fixed"}},
			client: map[string]string{"x-mcp-auth": "legacy", "x-mcp-gh-authorization": "Bearer mine", "authorization": "Bearer raw"},
			want:   map[string]string{"authorization": "Fixed"},
		},
		{
			name: "static Authorization means no oauth2 token",
			srv:  Server{Scheme: SchemeOAuth2, Token: fakeTokens{}, Static: map[string]string{"Authorization": "Fixed"}},
			want: map[string]string{"authorization": "Fixed"},
		},
		{
			name:   "auth_header_name carries the legacy credential too",
			srv:    Server{Scheme: SchemeAPIKey, AuthHeader: "api-key", Auth: map[string]string{"api-key": "server"}},
			client: map[string]string{"x-mcp-auth": "legacy"},
			want:   map[string]string{"api-key": "legacy"},
		},
		{
			name:      "extra_headers never replace a client_credentials token",
			srv:       Server{Scheme: SchemeOAuth2, Token: fakeTokens{}, Extra: []string{"Authorization", "X-Tenant"}},
			client:    map[string]string{"authorization": "Bearer raw", "x-tenant": "t1"},
			want:      map[string]string{"x-tenant": "t1"},
			wantToken: true,
		},
		{
			name:      "extra_headers never replace a client_credentials token in its own header",
			srv:       Server{Scheme: SchemeOAuth2, AuthHeader: "X-Up-Token", Token: fakeTokens{}, Extra: []string{" x-up-token"}},
			client:    map[string]string{"x-up-token": "raw"},
			want:      map[string]string{},
			wantToken: true,
		},
		{
			name:   "without a token of its own (authorization_code) the client's extra_headers Authorization goes",
			srv:    Server{Scheme: SchemeOAuth2, Extra: []string{"Authorization"}},
			client: map[string]string{"authorization": "Bearer raw"},
			want:   map[string]string{"authorization": "Bearer raw"},
		},
		{
			name:      "oauth2 token in a custom header; the client's Authorization is not it",
			srv:       Server{Scheme: SchemeOAuth2, AuthHeader: "X-Up-Token", Token: fakeTokens{}, Extra: []string{"authorization"}},
			client:    map[string]string{"authorization": "Bearer raw"},
			want:      map[string]string{"authorization": "Bearer raw"},
			wantToken: true,
		},
		{
			name: "reserved names are never set",
			srv: Server{Extra: []string{"x-litellm-api-key", "cookie", "x-mcp-servers"},
				Static: map[string]string{"X-MCP-Cluster": "evil", "Content-Length": "1"}},
			client: map[string]string{
				"x-mcp-gh-x-mcp-cluster": "evil", "x-mcp-gh-host": "evil", "x-mcp-gh-mcp-session-id": "evil",
				"x-mcp-gh-x-envoy-foo": "evil", "x-mcp-gh-content-length": "9", "x-mcp-gh-transfer-encoding": "chunked",
				"x-litellm-api-key": "sk-gw", "cookie": "c=1", "x-mcp-servers": "gh", "x-mcp-gh-x-litellm-api-key": "sk-gw",
			},
			want: map[string]string{"cookie": "c=1"},
		},
	}
	r := mustRewriter(t, Settings{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := r.Outbound("gh", &tt.srv, tt.client)
			got := map[string]string{}
			for _, h := range out.Set {
				got[h.Name] = h.Value
			}
			if !equalMaps(got, tt.want) {
				t.Errorf("Set = %v, want %v", got, tt.want)
			}
			if out.Token != tt.wantToken {
				t.Errorf("Token = %v, want %v", out.Token, tt.wantToken)
			}
			if wantHeader := strings.ToLower(tt.srv.AuthHeader); out.Token && wantHeader != "" && out.TokenHeader != wantHeader {
				t.Errorf("TokenHeader = %q, want %q", out.TokenHeader, wantHeader)
			}
			for _, rm := range out.Remove {
				if _, set := out.Get(rm); set {
					t.Errorf("%q is both set and removed", rm)
				}
			}
		})
	}
}

// TestOutboundRemoves checks the allowlist: only MCP protocol headers,
// content negotiation, the user agent, trace context and what Envoy owns
// survive; everything else a client sends is removed.
func TestOutboundRemoves(t *testing.T) {
	client := map[string]string{
		":path": "/mcp", ":method": "POST", ":authority": "gw", "host": "gw",
		"content-type": "application/json", "content-length": "10", "accept": "application/json, text/event-stream",
		"user-agent": "ua", "mcp-session-id": "s", "mcp-protocol-version": "2025-06-18", "mcp-method": "tools/call",
		"mcp-name": "t", "mcp-param-region": "eu", "traceparent": "00-1-2-01", "x-request-id": "r", "x-forwarded-proto": "http",
		"x-envoy-internal": "true", "x-mcp-cluster": "mcp_upstream_gh",
		// Removed:
		"x-litellm-api-key": "sk-gw", "authorization": "Bearer gw", "x-mcp-auth": "legacy", "x-mcp-gh-authorization": "Bearer mine",
		"x-mcp-other-authorization": "Bearer theirs", "x-mcp-servers": "gh", "x-mcp-access-groups": "g", "cookie": "c",
		"connection": "keep-alive", "te": "trailers", "x-forwarded-for": "1.2.3.4", "proxy-authorization": "p", "x-custom": "v",
	}
	r := mustRewriter(t, Settings{})
	out := r.Outbound("gh", &Server{}, client)
	want := []string{"connection", "cookie", "proxy-authorization", "te", "x-custom", "x-envoy-internal", "x-forwarded-for", "x-litellm-api-key",
		"x-mcp-access-groups", "x-mcp-auth", "x-mcp-gh-authorization", "x-mcp-other-authorization", "x-mcp-servers"}
	// authorization is not removed: the per-server credential overwrites it.
	if !slices.Equal(out.Remove, want) {
		t.Errorf("Remove = %v\nwant     %v", out.Remove, want)
	}
	// The per-server credential is set under its own name, not removed.
	if v, _ := out.Get("authorization"); v != "Bearer mine" {
		t.Errorf("authorization = %q, want the client's per-server credential", v)
	}
}

func TestOutboundKeyHeaderNeverLeaves(t *testing.T) {
	// With the gateway key in Authorization, no source may forward it.
	r := mustRewriter(t, Settings{KeyHeader: "Authorization", LegacyHeader: "x-upstream-auth"})
	srv := &Server{Extra: []string{"authorization"}}
	out := r.Outbound("gh", srv, map[string]string{"authorization": "Bearer sk-gateway", "x-upstream-auth": "legacy"})
	if v, ok := out.Get("authorization"); ok {
		t.Fatalf("the gateway key header was forwarded: %q", v)
	}
	if !slices.Contains(out.Remove, "authorization") || !slices.Contains(out.Remove, "x-upstream-auth") {
		t.Errorf("Remove = %v, want authorization and x-upstream-auth", out.Remove)
	}
}

func TestOutboundLegacyHeaderName(t *testing.T) {
	r := mustRewriter(t, Settings{LegacyHeader: "Authorization"})
	srv := &Server{Scheme: SchemeBearer}
	out := r.Outbound("gh", srv, map[string]string{"authorization": "Bearer user-token", "x-litellm-api-key": "sk"})
	if v, _ := out.Get("authorization"); v != "Bearer user-token" {
		t.Errorf("authorization = %q, want the legacy credential written as bearer", v)
	}
	if !slices.Contains(out.Remove, "x-litellm-api-key") {
		t.Errorf("Remove = %v, want the gateway key header", out.Remove)
	}
}

func TestNewRewriterRefuses(t *testing.T) {
	for _, s := range []Settings{
		{KeyHeader: "x-same", LegacyHeader: "X-Same"},
		{LegacyHeader: "mcp-session-id"},
		{LegacyHeader: "x-mcp-servers"},
		{LegacyHeader: "bad name"},
		{KeyHeader: "bad name"},
		{LegacyHeader: ":path"},
	} {
		if _, err := NewRewriter([]string{"gh"}, s); err == nil {
			t.Errorf("NewRewriter(%+v) accepted", s)
		}
	}
}

func TestClientKey(t *testing.T) {
	r := mustRewriter(t, Settings{})
	srv := &Server{Scheme: SchemeBearer, Auth: map[string]string{"Authorization": "Bearer server"}, Extra: []string{"x-tenant"}}
	none := r.Outbound("gh", srv, map[string]string{"user-agent": "a"})
	if none.ClientKey != "" {
		t.Errorf("ClientKey = %q for a request with no client credentials", none.ClientKey)
	}
	a := r.Outbound("gh", srv, map[string]string{"x-mcp-gh-authorization": "Bearer a"})
	a2 := r.Outbound("gh", srv, map[string]string{"x-mcp-gh-authorization": "Bearer a", "user-agent": "b"})
	b := r.Outbound("gh", srv, map[string]string{"x-mcp-gh-authorization": "Bearer b"})
	tenant := r.Outbound("gh", srv, map[string]string{"x-tenant": "t"})
	if a.ClientKey == "" || a.ClientKey != a2.ClientKey || a.ClientKey == b.ClientKey || tenant.ClientKey == "" || tenant.ClientKey == a.ClientKey {
		t.Errorf("client keys: a=%q a2=%q b=%q tenant=%q", a.ClientKey, a2.ClientKey, b.ClientKey, tenant.ClientKey)
	}
	if strings.Contains(a.ClientKey, "Bearer") {
		t.Error("ClientKey contains the credential")
	}
}

func TestGateway(t *testing.T) {
	srv := &Server{Scheme: SchemeAPIKey, Auth: map[string]string{"X-API-Key": "k"}, Static: map[string]string{"X-Team": "a"}, Extra: []string{"x-tenant"}}
	out := srv.Gateway()
	if !slices.Equal(out.Set, []Header{{"x-api-key", "k"}, {"x-team", "a"}}) || out.Token || out.Remove != nil {
		t.Errorf("Gateway() = %+v", out)
	}
	oauth := &Server{Scheme: SchemeOAuth2}
	if !oauth.Gateway().Token {
		t.Error("an oauth2 server's own requests need its token")
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// With access.key_from_authorization, a request whose gateway key came in
// Authorization forwards no Authorization of the client's, whatever the
// server's extra_headers or the client's x-mcp-<alias>-authorization; a
// request with the key in x-litellm-api-key keeps Authorization as its own
// credential, forwarded under the usual rules.
func TestOutboundKeyFromAuthorization(t *testing.T) {
	r := mustRewriter(t, Settings{KeyFromAuthorization: true})
	srv := &Server{Extra: []string{"Authorization"}}
	tests := []struct {
		name   string
		client map[string]string
		want   string // authorization sent upstream; "" none
	}{
		{"key in Authorization", map[string]string{"authorization": "Bearer sk-gateway"}, ""},
		{"key in Authorization, per-server credential", map[string]string{"authorization": "Bearer sk-gateway", "x-mcp-gh-authorization": "Bearer up"}, ""},
		{"key in the key header", map[string]string{"x-litellm-api-key": "sk-gateway", "authorization": "Bearer up"}, "Bearer up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := r.Outbound("gh", srv, tt.client)
			got, _ := out.Get("authorization")
			if got != tt.want {
				t.Fatalf("authorization = %q, want %q", got, tt.want)
			}
			if tt.want == "" && !slices.Contains(out.Remove, "authorization") {
				t.Fatalf("Remove = %v, want authorization", out.Remove)
			}
			for _, h := range out.Set {
				if strings.Contains(h.Value, "sk-gateway") {
					t.Fatalf("the gateway key reaches the upstream in %s", h.Name)
				}
			}
		})
	}
	// The server's own credential still goes in Authorization.
	own := &Server{Scheme: SchemeBearer, Auth: map[string]string{"Authorization": "Bearer server-token"}}
	if v, _ := r.Outbound("gh", own, map[string]string{"authorization": "Bearer sk-gateway"}).Get("authorization"); v != "Bearer server-token" {
		t.Fatalf("server credential = %q", v)
	}
	if _, err := NewRewriter([]string{"gh"}, Settings{KeyFromAuthorization: true, LegacyHeader: "Authorization"}); err == nil {
		t.Fatal("Authorization as both a gateway key and the legacy client credential accepted")
	}
}
