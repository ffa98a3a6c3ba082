package configfile

import (
	"strings"
	"testing"
)

// TestUnsupported checks that settings LiteLLM documents but the gateway
// does not act on yet are accepted and reported at their path.
func TestUnsupported(t *testing.T) {
	const head = "mcp_servers:\n  a:\n    url: https://x.example/mcp\n"
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"not on the public internet", head + "    available_on_public_internet: false\n", "mcp_servers.a.available_on_public_internet: not supported yet: this restriction is NOT enforced"},
		{"token validation", head + "    token_validation: {iss: x}\n", "mcp_servers.a.token_validation: not supported yet: this restriction is NOT enforced"},
		{"allowed clients", head + "general_settings:\n  mcp_allowed_clients: [{name: cursor}]\n", "general_settings.mcp_allowed_clients: not supported yet: this restriction is NOT enforced"},
		{"oauth2 authorization_code", head + "    auth_type: oauth2\n    oauth2_flow: authorization_code\n", "test.yaml:5: mcp_servers.a.oauth2_flow: not supported yet: the gateway fetches tokens only for oauth2_flow client_credentials"},
		{"oauth2 client_id without oauth2", head + "    auth_type: bearer_token\n    auth_value: x\n    client_id: abc\n", "test.yaml:6: mcp_servers.a.client_id: not supported yet: used only with auth_type oauth2 and oauth2_flow client_credentials"},
		{"oauth2 client_secret", head + "    client_secret: s\n", "mcp_servers.a.client_secret: not supported yet"},
		{"oauth2 scopes", head + "    scopes: [read]\n", "mcp_servers.a.scopes: not supported yet"},
		{"aws_sigv4", head + "    auth_type: aws_sigv4\n    aws_region_name: us-east-1\n", "mcp_servers.a.aws_region_name: not supported yet"},
		{"true_passthrough", head + "    auth_type: true_passthrough\n", "mcp_servers.a.auth_type: not supported yet: requests are sent without these credentials"},
		{"credentials in the url", "mcp_servers:\n  a:\n    url: https://user:pw@x.example/mcp\n", "test.yaml:3: mcp_servers.a.url: not supported yet: credentials in the URL are not sent; use auth_type basic"},
		{"server variables in static headers", head + "    static_headers:\n      Authorization: \"Bearer ${TOKEN}\"\n", "test.yaml:5: mcp_servers.a.static_headers.Authorization: not supported yet: ${NAME} server variables are sent literally"},
		{"env_vars", head + "    env_vars:\n      - name: TOKEN\n        scope: user\n", "mcp_servers.a.env_vars: not supported yet"},
		{"cost info", head + "    mcp_info:\n      mcp_server_cost_info:\n        default_cost_per_query: 0.01\n", "test.yaml:5: mcp_servers.a.mcp_info.mcp_server_cost_info: not supported yet"},
		{"logo", head + "    mcp_info:\n      logo_url: https://x.example/logo.png\n", "mcp_servers.a.mcp_info.logo_url: not supported yet"},
		{"max_concurrent_requests", head + "    max_concurrent_requests: 4\n", "mcp_servers.a.max_concurrent_requests: not supported yet"},
		{"instructions", head + "    instructions: be nice\n", "mcp_servers.a.instructions: not supported yet"},
		{"oauth passthrough", head + "    oauth_passthrough: true\n", "mcp_servers.a.oauth_passthrough: not supported yet"},
		{"MCP ip ranges", "general_settings:\n  mcp_internal_ip_ranges: [10.0.0.0/8]\n", "general_settings.mcp_internal_ip_ranges: not supported yet"},
		{"other litellm mcp settings", "litellm_settings:\n  mcp_tool_search:\n    top_k: 5\n", "test.yaml:2: litellm_settings.mcp_tool_search: not supported yet"},
		{"include", "include:\n  - mcp.yaml\n", "test.yaml:1: include: not supported yet: included files are not read, so mcp_servers in them are missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustParse(t, tt.src, nil)
			findLine(t, cfg.Unsupported, tt.want)
		})
	}
}

func TestDefaultsAreNotReportedAsUnsupported(t *testing.T) {
	src := `general_settings:
  master_key: sk-1234
mcp_servers:
  a:
    url: https://x.example/mcp
    transport: http
    auth_type: api_key
    auth_value: k
    allow_all_keys: true
    allowed_params:
      t: [x]
    available_on_public_internet: true
    allowed_tools: []
    static_headers:
      X-A: b
    description: d
`
	if cfg := mustParse(t, src, nil); len(cfg.Unsupported) != 0 {
		t.Errorf("Unsupported = %v, want none", cfg.Unsupported)
	}
}

func TestIgnored(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"model_list", "model_list:\n  - model_name: gpt\n", "test.yaml:1: model_list: ignored: not an MCP gateway setting"},
		{"router_settings", "router_settings:\n  num_retries: 3\n", "test.yaml:1: router_settings: ignored: not an MCP gateway setting"},
		{"environment_variables", "environment_variables:\n  REDIS_HOST: x\n", "environment_variables: ignored: not an MCP gateway setting"},
		{"litellm_settings", "litellm_settings:\n  drop_params: true\n", "test.yaml:1: litellm_settings: ignored: not an MCP gateway setting (only mcp_aliases is read)"},
		{"general setting", "general_settings:\n  alerting: [slack]\n", "test.yaml:2: general_settings.alerting: ignored: not an MCP gateway setting"},
		{"spec_version", "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    spec_version: \"2025-03-26\"\n", "test.yaml:4: mcp_servers.a.spec_version: ignored: the protocol version is negotiated at initialize"},
		{"stdio keys on an http server", "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    args: [x]\n", "test.yaml:4: mcp_servers.a.args: ignored: only used with transport stdio"},
		{"url on a stdio server", "mcp_servers:\n  a:\n    transport: stdio\n    command: npx\n    url: https://x.example/mcp\n", "mcp_servers.a.url: ignored: transport stdio does not use url"},
		{"auth_value without auth_type", "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    auth_value: k\n", "test.yaml:4: mcp_servers.a.auth_value: ignored: has no effect without auth_type"},
		{"custom mcp_info field", "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    mcp_info:\n      owner: platform\n", "test.yaml:5: mcp_servers.a.mcp_info.owner: ignored: custom mcp_info field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustParse(t, tt.src, nil)
			findLine(t, cfg.Ignored, tt.want)
		})
	}
}

func TestIgnoredSectionsAreNotRead(t *testing.T) {
	// Secrets and variables in LiteLLM's other sections must neither be
	// required nor type-checked.
	src := `model_list:
  - model_name: gpt
    litellm_params:
      api_key: os.environ/NOT_SET
router_settings: [not, a, mapping]
`
	cfg := mustParse(t, src, nil)
	if len(cfg.Ignored) != 2 {
		t.Errorf("Ignored = %v, want the two sections", cfg.Ignored)
	}
	for _, p := range cfg.Ignored {
		if !strings.Contains(p.Message, "ignored") {
			t.Errorf("note %q does not say ignored", p)
		}
	}
}

func TestSessionSettings(t *testing.T) {
	secret := strings.Repeat("k", 40)
	cfg, err := Parse([]byte("gateway:\n  session_secrets: [os.environ/S1, "+secret+"]\n  session_ttl: 3600\n"), "test.yaml",
		func(n string) (string, bool) { return strings.Repeat("s", 32), n == "S1" })
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Gateway.SessionSecrets) != 2 || cfg.Gateway.SessionSecrets[1] != secret || cfg.Gateway.SessionTTL.Hours() != 1 {
		t.Fatalf("got %+v", cfg.Gateway)
	}
	_, err = Parse([]byte("gateway:\n  session_secrets: [short]\n"), "test.yaml", nil)
	if err == nil || !strings.Contains(err.Error(), "gateway.session_secrets[0]: must be at least 32 bytes") || strings.Contains(err.Error(), "short") {
		t.Fatalf("short secret: %v", err)
	}
	cfg, _ = Parse([]byte("mcp_servers: {}\n"), "test.yaml", nil)
	if cfg.Gateway.SessionTTL.Hours() != 24 {
		t.Fatalf("default ttl %v", cfg.Gateway.SessionTTL)
	}
}

func TestAllowedOrigins(t *testing.T) {
	cfg, err := Parse([]byte("gateway:\n  allowed_origins: [\"https://app.example.com\", \"*\"]\n"), "test.yaml", nil)
	if err != nil || len(cfg.Gateway.AllowedOrigins) != 2 {
		t.Fatalf("%v %+v", err, cfg)
	}
	for _, bad := range []string{"app.example.com", "https://app.example.com/path", "ftp://x", "https://x?q=1"} {
		_, err := Parse([]byte("gateway:\n  allowed_origins: [\""+bad+"\"]\n"), "test.yaml", nil)
		if err == nil || !strings.Contains(err.Error(), "gateway.allowed_origins[0]: must be an origin") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
