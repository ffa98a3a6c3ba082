package configfile

import (
	"testing"
)

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

func TestLegacyHeaderName(t *testing.T) {
	cfg := mustParse(t, "general_settings:\n  mcp_client_side_auth_header_name: Authorization\n", nil)
	if cfg.General.MCPClientSideAuthHeaderName != "Authorization" || len(cfg.Unsupported) != 0 {
		t.Errorf("legacy header = %q, unsupported %v", cfg.General.MCPClientSideAuthHeaderName, cfg.Unsupported)
	}
}
