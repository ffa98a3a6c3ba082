package configfile

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func sha(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }

const accessServers = `mcp_servers:
  github:
    url: https://gh.example/mcp
    access_groups: [dev]
  wiki_server:
    alias: wiki
    url: https://wiki.example/mcp
    access_groups: [docs]
`

func TestAccessParse(t *testing.T) {
	src := accessServers + `general_settings:
  master_key: os.environ/MASTER
access:
  all_servers_by_default: true
  policy_dir: policies
  input_headers: [User-Agent, x-request-id]
  decision_log: {output: decisions.log, argument_values: true}
  keys:
    - key_alias: ci-bot
      key: os.environ/CI_KEY
      team_id: platform
      expires: 2027-01-31
      object_permission:
        mcp_servers: [github, wiki_server]
        mcp_access_groups: [docs]
        mcp_tool_permissions: {wiki_server: [read]}
        mcp_disallowed_tools: {github: [delete_repo]}
    - token: sha256:` + sha("sk-other") + `
      blocked: true
      max_budget: 10
  teams:
    - team_id: platform
      organization_id: acme
      object_permission: {mcp_servers: []}
  organizations:
    - organization_id: acme
      object_permission: {mcp_access_groups: [dev]}
`
	cfg := mustParse(t, src, map[string]string{"MASTER": "sk-master", "CI_KEY": "sk-ci-secret"})
	a := cfg.Access
	if cfg.General.MasterKeyHash != sha("sk-master") || cfg.General.KeyHeaderName != "x-litellm-api-key" {
		t.Errorf("general = %+v", cfg.General)
	}
	if !a.AllServersByDefault || a.PolicyDir != "policies" || a.DecisionLog.Output != "decisions.log" || !a.DecisionLog.ArgumentValues {
		t.Errorf("settings = %+v", a)
	}
	if !slices.Equal(a.InputHeaders, []string{"user-agent", "x-request-id"}) {
		t.Errorf("input headers = %v", a.InputHeaders)
	}
	if len(a.Keys) != 2 {
		t.Fatalf("keys = %+v", a.Keys)
	}
	k := a.Keys[0]
	if k.Alias != "ci-bot" || k.Token != sha("sk-ci-secret") || k.TeamID != "platform" ||
		!k.Expires.Equal(time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("key = %+v", k)
	}
	// Server names are resolved to aliases.
	if !slices.Equal(k.Permission.MCPServers, []string{"github", "wiki"}) ||
		!slices.Equal(k.Permission.MCPToolPermissions["wiki"], []string{"read"}) ||
		!slices.Equal(k.Permission.MCPDisallowedTools["github"], []string{"delete_repo"}) {
		t.Errorf("permission = %+v", k.Permission)
	}
	if o := a.Keys[1]; o.Alias != "sha256:"+sha("sk-other")[:12] || !o.Blocked || o.Permission.Set() {
		t.Errorf("second key = %+v", o)
	}
	if tm := a.Teams[0]; tm.OrganizationID != "acme" || tm.Permission.MCPServers == nil || len(tm.Permission.MCPServers) != 0 || !tm.Permission.Set() {
		t.Errorf("team = %+v (an empty list is set, to nothing)", tm)
	}
	findLine(t, cfg.Ignored, "access.keys[1].max_budget: ignored")
	for _, p := range slices.Concat(cfg.Unsupported, cfg.Ignored) {
		if strings.Contains(p.String(), "sk-") {
			t.Errorf("a key leaks into %s", p)
		}
	}
}

func TestAccessDefaults(t *testing.T) {
	cfg := mustParse(t, accessServers, nil)
	if cfg.General.MasterKeyHash != "" || len(cfg.Access.Keys) != 0 || cfg.Access.DecisionLog.Output != "stderr" ||
		!slices.Equal(cfg.Access.InputHeaders, []string{"user-agent", "mcp-protocol-version"}) {
		t.Errorf("defaults = %+v %+v", cfg.General, cfg.Access)
	}
}

func TestAccessRelativePaths(t *testing.T) {
	cfg, err := Parse([]byte("access:\n  policy_dir: rego\n  decision_log: {output: d.log}\n"), filepath.Join("etc", "mcpgw", "config.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Access.PolicyDir != filepath.Join("etc", "mcpgw", "rego") || cfg.Access.DecisionLog.Output != filepath.Join("etc", "mcpgw", "d.log") {
		t.Errorf("paths = %q %q", cfg.Access.PolicyDir, cfg.Access.DecisionLog.Output)
	}
}

func TestAccessErrors(t *testing.T) {
	key := func(body string) string {
		return accessServers + "access:\n  keys:\n    - key: sk-abcdef\n" + body
	}
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"unknown team", key("      team_id: nope\n"), `test.yaml:12: access.keys[0].team_id: no access.teams entry has team_id "nope"`},
		{"unknown server", key("      object_permission: {mcp_servers: [github, gitlab]}\n"), `access.keys[0].object_permission.mcp_servers[1]: no mcp_servers entry is named "gitlab"`},
		{"unknown group", key("      object_permission: {mcp_access_groups: [ops]}\n"), `access.keys[0].object_permission.mcp_access_groups[0]: no server has access group "ops"`},
		{"unknown tool server", key("      object_permission:\n        mcp_tool_permissions: {jira: [x]}\n"), `test.yaml:13: access.keys[0].object_permission.mcp_tool_permissions.jira: no mcp_servers entry is named "jira"`},
		{"unknown permission", key("      object_permission: {mcp_server: [github]}\n"), `access.keys[0].object_permission.mcp_server: unknown key (did you mean "mcp_servers"?)`},
		{"unknown key field", key("      team: x\n"), `access.keys[0].team: unknown key (did you mean "team_id"?)`},
		{"key and token", key("      token: " + sha("x") + "\n"), "access.keys[0].token: set key or token, not both"},
		{"neither", accessServers + "access:\n  keys:\n    - key_alias: a\n", "test.yaml:11: access.keys[0]: needs key (the key, e.g. os.environ/NAME) or token (its SHA-256)"},
		{"bad token", accessServers + "access:\n  keys:\n    - token: abc\n", "access.keys[0].token: must be the key's SHA-256 as 64 hex digits"},
		{"bad expiry", key("      expires: soon\n"), "access.keys[0].expires: must be a time (RFC 3339"},
		{"duplicate key", key("    - key: sk-abcdef\n"), "test.yaml:12: access.keys[1]: same key as access.keys[0]"},
		{"duplicate alias", key("      key_alias: a\n    - key: sk-other\n      key_alias: a\n"), "access.keys[1].key_alias: same key_alias as access.keys[0]"},
		{"reserved alias", key("      key_alias: master_key\n"), "access.keys[0].key_alias: master_key names general_settings.master_key"},
		{"master key reused", "general_settings:\n  master_key: sk-abcdef\n" + key(""), "access.keys[0]: same key as general_settings.master_key"},
		{"duplicate team", accessServers + "access:\n  teams:\n    - team_id: t\n    - team_id: t\n", `test.yaml:12: access.teams[1].team_id: "t" is used by another team`},
		{"team without id", accessServers + "access:\n  teams:\n    - team_alias: t\n", "access.teams[0]: needs a team_id"},
		{"unknown org", accessServers + "access:\n  teams:\n    - team_id: t\n      organization_id: o\n", `access.teams[0].organization_id: no access.organizations entry has organization_id "o"`},
		{"keys not a list", accessServers + "access:\n  keys: {a: b}\n", "access.keys: must be a list, got a mapping"},
		{"credential input header", accessServers + "access:\n  input_headers: [authorization]\n", "access.input_headers[0]: carries credentials"},
		{"key input header", accessServers + "access:\n  input_headers: [X-LiteLLM-API-Key]\n", "access.input_headers[0]: carries credentials"},
		{"per-server credential header", accessServers + "access:\n  input_headers: [x-mcp-github-authorization]\n", "access.input_headers[0]: carries credentials"},
		{"unknown access key", accessServers + "access:\n  key: []\n", "access.key: unknown key (did you mean \"keys\"?)"},
		{"key header is the client-side auth header", "general_settings:\n  litellm_key_header_name: Authorization\n  mcp_client_side_auth_header_name: authorization\n",
			"the gateway key and the client credential cannot share header"},
		{"bad key header", "general_settings:\n  litellm_key_header_name: \"x key\"\n", "general_settings.litellm_key_header_name: must be an HTTP header name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := problemsOf(t, tt.src, nil)
			findLine(t, ps, tt.want)
			assertNoLeak(t, ps, "sk-abcdef")
		})
	}
}

func TestKeyHeaderName(t *testing.T) {
	cfg := mustParse(t, "general_settings:\n  litellm_key_header_name: Authorization\n", nil)
	if cfg.General.KeyHeaderName != "authorization" {
		t.Errorf("KeyHeaderName = %q", cfg.General.KeyHeaderName)
	}
}
