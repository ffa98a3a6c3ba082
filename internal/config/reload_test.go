package config_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/internal/config/configfile"
)

func TestCompareForReload(t *testing.T) {
	parse := func(src string) *config.Config {
		t.Helper()
		cfg, err := configfile.Parse([]byte(src), "test.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	base := `mcp_servers:
  wiki:
    url: https://wiki.example/mcp
    allowed_tools: [read]
  github:
    url: https://gh.example/mcp
    auth_type: bearer_token
    auth_value: secret-1
  jira:
    url: https://jira.example/mcp
`
	running := parse(base)
	for _, tc := range []struct {
		name                    string
		edit                    func(string) string
		added, removed, changed []string
		gateway                 bool
	}{
		{"access settings only", func(s string) string {
			return strings.Replace(s, "allowed_tools: [read]", "allowed_tools: [read, search]\n    access_groups: [docs]", 1)
		}, nil, nil, nil, false},
		{"moved lines only", func(s string) string { return "\n\n" + s }, nil, nil, nil, false},
		{"a secret", func(s string) string { return strings.Replace(s, "secret-1", "secret-2", 1) }, nil, nil, []string{"github"}, false},
		{"a url", func(s string) string { return strings.Replace(s, "jira.example", "jira2.example", 1) }, nil, nil, []string{"jira"}, false},
		{"added and removed", func(s string) string {
			return strings.Replace(s, "  jira:\n    url: https://jira.example/mcp\n", "  notes:\n    url: https://notes.example/mcp\n", 1)
		}, []string{"notes"}, []string{"jira"}, nil, false},
		{"gateway block", func(s string) string { return s + "gateway:\n  port: 4001\n" }, nil, nil, nil, true},
		{"master key only", func(s string) string { return s + "general_settings:\n  master_key: sk-new\n" }, nil, nil, nil, false},
		{"require_key_mcp_access_defined", func(s string) string { return s + "general_settings:\n  require_key_mcp_access_defined: true\n" }, nil, nil, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := config.CompareForReload(running, parse(tc.edit(base)))
			if !slices.Equal(r.Added, tc.added) || !slices.Equal(r.Removed, tc.removed) || !slices.Equal(r.Changed, tc.changed) || r.Gateway != tc.gateway {
				t.Fatalf("got %+v", r)
			}
			if r.General {
				t.Fatalf("general_settings said to change: %+v", r)
			}
			want := len(tc.added)+len(tc.removed)+len(tc.changed) > 0 || tc.gateway
			if r.NeedsRestart() != want {
				t.Fatalf("NeedsRestart %v", r.NeedsRestart())
			}
		})
	}
}

func TestCompareForReloadGeneralSettings(t *testing.T) {
	a, _ := configfile.Parse([]byte("mcp_servers: {}\n"), "a.yaml", nil)
	b, _ := configfile.Parse([]byte("mcp_servers: {}\ngeneral_settings:\n  mcp_tool_prefix_separator: \"__\"\n"), "b.yaml", nil)
	if r := config.CompareForReload(a, b); !r.General || !r.NeedsRestart() {
		t.Fatalf("a new prefix separator: %+v", r)
	}
}

// A reload takes next's access settings, and nothing else: servers,
// general settings but the master key, and the gateway block stay.
func TestForReload(t *testing.T) {
	running, _ := configfile.Parse([]byte(`mcp_servers:
  wiki: {url: "https://wiki.example/mcp", allowed_tools: [read]}
general_settings:
  master_key: sk-old
`), "a.yaml", nil)
	next, err := configfile.Parse([]byte(`mcp_servers:
  wiki: {url: "https://elsewhere.example/mcp", allowed_tools: [read, search], access_groups: [docs]}
  notes: {url: "https://notes.example/mcp"}
general_settings:
  master_key: sk-new
  mcp_tool_prefix_separator: "__"
  require_key_mcp_access_defined: true
access:
  keys:
    - {key_alias: a, key: sk-a}
`), "b.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := config.ForReload(running, next)
	if len(got.Servers) != 1 || got.Servers[0].URL != "https://wiki.example/mcp" ||
		!slices.Equal(got.Servers[0].AllowedTools, []string{"read", "search"}) || !slices.Equal(got.Servers[0].AccessGroups, []string{"docs"}) {
		t.Errorf("servers %+v", got.Servers)
	}
	if got.General.MCPToolPrefixSeparator != running.General.MCPToolPrefixSeparator || got.General.MasterKeyHash != next.General.MasterKeyHash ||
		!got.General.RequireKeyMCPAccessDefined {
		t.Errorf("general settings %+v", got.General)
	}
	if len(got.Access.Keys) != 1 || len(running.Access.Keys) != 0 || running.Servers[0].AllowedTools[0] != "read" || len(running.Servers[0].AllowedTools) != 1 {
		t.Errorf("access %+v; the running config changed: %+v", got.Access, running.Servers)
	}
}

// Applied live, next's servers and access settings are taken whole; the
// gateway block, general settings but the master key and
// require_key_mcp_access_defined, and key_from_authorization stay.
func TestForApply(t *testing.T) {
	running, _ := configfile.Parse([]byte(`mcp_servers:
  wiki: {url: "https://wiki.example/mcp"}
general_settings:
  master_key: sk-old
gateway:
  port: 4000
`), "a.yaml", nil)
	next, err := configfile.Parse([]byte(`mcp_servers:
  wiki: {url: "https://elsewhere.example/mcp"}
  notes: {url: "https://notes.example/mcp"}
general_settings:
  master_key: sk-new
  mcp_tool_prefix_separator: "__"
  require_key_mcp_access_defined: true
gateway:
  port: 4001
access:
  key_from_authorization: true
`), "b.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := config.ForApply(running, next)
	if len(got.Servers) != 2 || got.Servers[0].URL != "https://elsewhere.example/mcp" {
		t.Errorf("servers %+v", got.Servers)
	}
	if got.Gateway.Port != running.Gateway.Port || got.General.MCPToolPrefixSeparator != running.General.MCPToolPrefixSeparator ||
		got.General.MasterKeyHash != next.General.MasterKeyHash || !got.General.RequireKeyMCPAccessDefined || got.Access.KeyFromAuthorization {
		t.Errorf("got gateway %+v general %+v key_from_authorization %v", got.Gateway, got.General, got.Access.KeyFromAuthorization)
	}
	if r := config.CompareForReload(running, next); !r.NeedsRestartLive() || !r.Gateway || !r.General || !r.KeySource {
		t.Errorf("CompareForReload %+v", r)
	}
	if r := config.CompareForReload(running, got); r.NeedsRestartLive() {
		t.Errorf("what ForApply gives needs no restart, got %+v", r)
	}
}
