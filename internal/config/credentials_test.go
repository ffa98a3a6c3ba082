package config

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/mcpgw/mcpgw/upstreams/credentials"
)

func TestServerCredentials(t *testing.T) {
	src := `mcp_servers:
  gh:
    url: https://x.example/mcp
    auth_type: bearer_token
    auth_value: os.environ/GH
    static_headers: {X-Team: " a "}
    extra_headers: [X-Tenant]
  billing:
    url: https://y.example/mcp
    auth_type: oauth2
    oauth2_flow: client_credentials
    token_url: https://auth.example/token
    client_id: gw
    client_secret: os.environ/CS
    scopes: [mcp.read]
    token_endpoint_auth_method: client_secret_basic
  open:
    url: https://z.example/mcp
`
	cfg := mustParse(t, src, map[string]string{"GH": "ghp_secret", "CS": "cs_secret"})
	gh := cfg.Servers[0].Credentials()
	if gh.Scheme != credentials.SchemeBearer || !maps.Equal(gh.Auth, map[string]string{"Authorization": "Bearer ghp_secret"}) ||
		!maps.Equal(gh.Static, map[string]string{"X-Team": "a"}) || !slices.Equal(gh.Extra, []string{"X-Tenant"}) {
		t.Errorf("gh credentials = %+v", gh)
	}
	billing := cfg.Servers[1]
	if c := billing.Credentials(); c.Scheme != credentials.SchemeOAuth2 || c.Auth != nil || !billing.FetchesToken() {
		t.Errorf("billing credentials = %+v, fetches token %v", c, billing.FetchesToken())
	}
	if o := billing.OAuth2; o.TokenURL != "https://auth.example/token" || o.ClientID != "gw" || o.ClientSecret != "cs_secret" ||
		!slices.Equal(o.Scopes, []string{"mcp.read"}) || o.TokenEndpointAuthMethod != "client_secret_basic" {
		t.Errorf("billing oauth2 = %+v", o)
	}
	if c := cfg.Servers[2].Credentials(); c.Scheme != credentials.SchemeNone || len(c.Gateway().Set) != 0 {
		t.Errorf("open credentials = %+v", c)
	}
	for _, p := range append(cfg.Unsupported, cfg.Ignored...) {
		t.Errorf("supported settings reported: %s", p)
	}
}

func TestCredentialProblems(t *testing.T) {
	const head = "mcp_servers:\n  a:\n    url: https://x.example/mcp\n"
	oauth := head + "    auth_type: oauth2\n    oauth2_flow: client_credentials\n"
	tests := []struct {
		name, src, want string
	}{
		{"token_url required", oauth + "    client_id: i\n    client_secret: s\n", "mcp_servers.a.token_url: is required for oauth2_flow client_credentials"},
		{"client_id required", oauth + "    token_url: https://a.example/t\n    client_secret: s\n", "mcp_servers.a.client_id: is required"},
		{"client_secret required", oauth + "    token_url: https://a.example/t\n    client_id: i\n", "mcp_servers.a.client_secret: is required"},
		{"client_secret empty", oauth + "    token_url: https://a.example/t\n    client_id: i\n    client_secret: \"\"\n", "mcp_servers.a.client_secret: must not be empty"},
		{"extra_headers gateway key", head + "    extra_headers: [X-LiteLLM-API-Key]\n", "mcp_servers.a.extra_headers[0]: is the gateway key header"},
		{"extra_headers custom gateway key", "general_settings:\n  litellm_key_header_name: x-gw-key\n" + head + "    extra_headers: [x-gw-key]\n", "is the gateway key header"},
		{"extra_headers internal", head + "    extra_headers: [x-user, x-mcp-cluster]\n", "mcp_servers.a.extra_headers[1]: cannot be forwarded"},
		{"extra_headers mcp", head + "    extra_headers: [Mcp-Session-Id]\n", "cannot be forwarded"},
		{"extra_headers envoy", head + "    extra_headers: [x-envoy-retry-on]\n", "cannot be forwarded"},
		{"static_headers gateway key", head + "    static_headers: {X-LiteLLM-API-Key: sk-other}\n", "mcp_servers.a.static_headers.X-LiteLLM-API-Key: is the gateway key header"},
		{"auth_header_name reserved", head + "    auth_type: api_key\n    auth_value: k\n    auth_header_name: Content-Type\n", "mcp_servers.a.auth_header_name: cannot carry credentials"},
		{"auth_header_name not a name", head + "    auth_type: api_key\n    auth_value: k\n    auth_header_name: \"x y\"\n", "mcp_servers.a.auth_header_name: is not a valid HTTP header name"},
		{"static_headers internal", head + "    static_headers: {X-MCP-Cluster: mcp_upstream_b}\n", "mcp_servers.a.static_headers.X-MCP-Cluster: cannot be set in static_headers"},
		{"legacy header that selects servers", "general_settings:\n  mcp_client_side_auth_header_name: x-mcp-servers\n", "general_settings.mcp_client_side_auth_header_name: \"x-mcp-servers\" cannot carry client credentials"},
		{"legacy header from env", "mcp_servers: {}\n", "general_settings.mcp_client_side_auth_header_name: \"content-type\" cannot carry"},
		{"aliases that differ in case", "mcp_servers:\n  GitHub:\n    url: https://x.example/mcp\n  github:\n    url: https://y.example/mcp\n", "differs from \"GitHub\" only in case"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			if tt.name == "legacy header from env" {
				env["LITELLM_MCP_CLIENT_SIDE_AUTH_HEADER_NAME"] = "content-type"
			}
			findLine(t, problemsOf(t, tt.src, env), tt.want)
		})
	}
}

func TestAuthHeaderName(t *testing.T) {
	src := `mcp_servers:
  azure:
    url: https://x.example/mcp
    auth_type: api_key
    auth_value: k1
    auth_header_name: api-key
  idp:
    url: https://y.example/mcp
    auth_type: oauth2
    oauth2_flow: client_credentials
    token_url: https://auth.example/token
    client_id: i
    client_secret: s
    auth_header_name: X-Upstream-Token
    extra_headers: [X-Tenant, x-upstream-token]
  m2m:
    url: https://w.example/mcp
    auth_type: oauth2
    oauth2_flow: client_credentials
    token_url: https://auth.example/token
    client_id: i
    client_secret: s
    extra_headers: [Authorization]
  plain:
    url: https://z.example/mcp
    auth_header_name: X-Unused
`
	cfg := mustParse(t, src, nil)
	if c := cfg.Servers[0].Credentials(); !maps.Equal(c.Auth, map[string]string{"api-key": "k1"}) || c.AuthHeader != "api-key" {
		t.Errorf("azure credentials = %+v", c)
	}
	idp := cfg.Servers[1].Credentials()
	if out := idp.Gateway(); !out.Token || out.TokenHeader != "x-upstream-token" {
		t.Errorf("idp gateway headers = %+v, want the token in x-upstream-token", out)
	}
	findLine(t, cfg.Ignored, "mcp_servers.plain.auth_header_name: ignored: has no effect without auth_type")
	// The token's header is the gateway's to fill on a client_credentials
	// server: extra_headers naming it are reported, not silently dropped.
	findLine(t, cfg.Ignored, "mcp_servers.idp.extra_headers[1]: ignored: the gateway sends this server its own OAuth2 token")
	findLine(t, cfg.Ignored, "mcp_servers.m2m.extra_headers[0]: ignored: the gateway sends this server its own OAuth2 token")
	for _, p := range cfg.Ignored {
		if strings.Contains(p.String(), "idp.extra_headers[0]") {
			t.Errorf("X-Tenant is forwarded to idp, yet reported: %s", p)
		}
	}
}

func TestLegacyHeaderName(t *testing.T) {
	cfg := mustParse(t, "general_settings:\n  mcp_client_side_auth_header_name: Authorization\n", nil)
	if cfg.General.MCPClientSideAuthHeaderName != "Authorization" || len(cfg.Unsupported) != 0 {
		t.Errorf("legacy header = %q, unsupported %v", cfg.General.MCPClientSideAuthHeaderName, cfg.Unsupported)
	}
}
