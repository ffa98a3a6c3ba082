package configfile

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// keysOf reads a testdata list: one key a line, # comments.
func keysOf(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var keys []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k := strings.TrimSpace(sc.Text()); k != "" && !strings.HasPrefix(k, "#") {
			keys = append(keys, k)
		}
	}
	return keys
}

// TestLiteLLMGeneralSettingsStart: every general_settings key LiteLLM
// 1.108.7 knows (its config schema, and what its code reads) is accepted:
// used, reported as not supported yet, or noted as ignored, never an
// unknown key.
func TestLiteLLMGeneralSettingsStart(t *testing.T) {
	keys := keysOf(t, "testdata/litellm-1.108.7-general-settings.txt")
	if len(keys) < 120 {
		t.Fatalf("%d keys read", len(keys))
	}
	for _, k := range keys {
		if _, err := Parse([]byte("general_settings:\n  "+k+": null\n"), "test.yaml", nil); err != nil {
			t.Errorf("general_settings.%s: %v", k, err)
		}
	}
}

// TestLiteLLMServerKeysStart: the same for the keys of an mcp_servers
// entry (MCPServerConfig and load_servers_from_config).
func TestLiteLLMServerKeysStart(t *testing.T) {
	keys := keysOf(t, "testdata/litellm-1.108.7-server-keys.txt")
	for _, k := range keys {
		if k == "url" {
			continue // in every entry below
		}
		src := "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    " + k + ": null\n"
		if _, err := Parse([]byte(src), "test.yaml", nil); err != nil {
			t.Errorf("mcp_servers.a.%s: %v", k, err)
		}
	}
}

func TestLiteLLMKeysReported(t *testing.T) {
	const head = "mcp_servers:\n  a:\n    url: https://x.example/mcp\n"
	tests := []struct {
		name, src, want string
		ignored         bool // want it in Ignored, not Unsupported
	}{
		{"advertised versions", "general_settings:\n  mcp_advertised_versions: [\"2025-11-25\"]\n", "general_settings.mcp_advertised_versions: not supported yet", false},
		{"disabled capabilities", "general_settings:\n  mcp_disabled_capabilities: [prompts]\n", "general_settings.mcp_disabled_capabilities: not supported yet", false},
		{"allowed clients", "general_settings:\n  mcp_allowed_clients:\n    - {alias: cursor, value: cursor-app}\n", "general_settings.mcp_allowed_clients: not supported yet", false},
		{"explicit server scope", "general_settings:\n  mcp_require_explicit_server_scope: true\n", "general_settings.mcp_require_explicit_server_scope: not supported yet", false},
		{"client id header", "general_settings:\n  mcp_client_id_header: x-mcp-client\n", "general_settings.mcp_client_id_header: not supported yet", false},
		{"allow_all_keys scope", "general_settings:\n  mcp_allow_all_keys_respects_mcp_scope: true\n", "general_settings.mcp_allow_all_keys_respects_mcp_scope: not supported yet", false},
		{"session token signing", "general_settings:\n  mcp_session_token_signing: {private_key: os.environ/K}\n", "general_settings.mcp_session_token_signing: not supported yet", false},
		{"admission control", "general_settings:\n  max_in_flight_requests_per_worker: 8\n", "general_settings.max_in_flight_requests_per_worker: ignored: not an MCP gateway setting", true},
		{"password policy", "general_settings:\n  password_policy_min_length: 12\n", "general_settings.password_policy_min_length: ignored", true},

		{"pinned protocol version", head + "    protocol_version: \"2025-06-18\"\n", "test.yaml:4: mcp_servers.a.protocol_version: not supported yet: the gateway negotiates each upstream's version (auto)", false},
		{"protocol version in mcp_info", head + "    mcp_info:\n      protocol_version: \"2025-06-18\"\n", "test.yaml:4: mcp_servers.a.mcp_info.protocol_version: not supported yet", false},
		{"pinned tools", head + "    pinned_tools:\n      search: {description: d, input_schema: {type: object}}\n", "mcp_servers.a.pinned_tools: not supported yet: tools/list shows the upstream's current tools", false},
		{"rpm", head + "    rpm: 60\n", "mcp_servers.a.rpm: not supported yet: calls to this server are NOT rate-limited", false},
		{"upstream_resource", head + "    upstream_resource: auto\n", "mcp_servers.a.upstream_resource: not supported yet", false},
		{"id-jag", head + "    auth_type: oauth2_id_jag\n    id_jag_resource: https://r.example\n", "mcp_servers.a.id_jag_resource: not supported yet", false},
		{"private key", head + "    client_private_key: os.environ/HOME\n", "mcp_servers.a.client_private_key: not supported yet", false},
		{"token validation", head + "    token_validation: {org: acme}\n", "mcp_servers.a.token_validation: not supported yet", false},
		{"identity binding", head + "    oauth_identity_binding: {mode: audit, issuer: https://i.example, audiences: [a]}\n", "mcp_servers.a.oauth_identity_binding: not supported yet", false},
		{"per-server oauth discovery", head + "    per_server_oauth_discovery: true\n", "mcp_servers.a.per_server_oauth_discovery: not supported yet", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustParse(t, tt.src, map[string]string{"HOME": "/root"})
			list := cfg.Unsupported
			if tt.ignored {
				list = cfg.Ignored
			}
			findLine(t, list, tt.want)
		})
	}
}

func TestLiteLLMKeysRejected(t *testing.T) {
	const head = "mcp_servers:\n  a:\n    url: https://x.example/mcp\n"
	tests := []struct{ name, src, want string }{
		// Keys LiteLLM does not know still fail, with a hint.
		{"general typo", "general_settings:\n  mcp_require_explicit_server_scop: true\n", `general_settings.mcp_require_explicit_server_scop: unknown key (did you mean "mcp_require_explicit_server_scope"?)`},
		{"general unknown", "general_settings:\n  no_such_setting: 1\n", "general_settings.no_such_setting: unknown key"},
		{"server typo", head + "    pinned_tool: {}\n", `mcp_servers.a.pinned_tool: unknown key (did you mean "pinned_tools"?)`},
		{"server typo rpm", head + "    rpn: 5\n", `mcp_servers.a.rpn: unknown key (did you mean "rpm"?)`},
		// Values are checked.
		{"bad advertised version", "general_settings:\n  mcp_advertised_versions: [\"2024-01-01\"]\n", `general_settings.mcp_advertised_versions[0]: unknown value "2024-01-01"`},
		{"bad protocol version", head + "    protocol_version: \"2027-01-01\"\n", `mcp_servers.a.protocol_version: unknown value "2027-01-01"`},
		{"modern over sse", "mcp_servers:\n  a:\n    url: https://x.example/sse\n    transport: sse\n    protocol_version: \"2026-07-28\"\n", "mcp_servers.a.protocol_version: 2026-07-28 needs transport http or stdio"},
		{"rpm zero", head + "    rpm: 0\n", "mcp_servers.a.rpm: must be at least 1"},
		{"pinned tool key", head + "    pinned_tools:\n      t: {descripton: d}\n", `mcp_servers.a.pinned_tools.t.descripton: unknown key (did you mean "description"?)`},
		{"empty server_id", head + "    server_id: \"\"\n", "mcp_servers.a.server_id: must not be empty"},
		{"duplicate server_id", head + "    server_id: s1\n  b:\n    url: https://y.example/mcp\n    server_id: s1\n", "mcp_servers.b.server_id: same server_id as mcp_servers.a"},
		{"server_id is another server's name", head + "  b:\n    url: https://y.example/mcp\n    server_id: a\n", "mcp_servers.b.server_id: is the name or alias of mcp_servers.a"},
		{"two token header names", head + "    auth_type: api_key\n    auth_header_name: x-a\n    upstream_token_header: x-b\n", "mcp_servers.a.upstream_token_header: differs from auth_header_name"},
		{"token header is the key header", head + "    auth_type: api_key\n    upstream_token_header: x-litellm-api-key\n", "mcp_servers.a.upstream_token_header: is the gateway key header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			findLine(t, problemsOf(t, tt.src, nil), tt.want)
		})
	}
}
