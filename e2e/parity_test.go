package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// checkVisibleIsCallable lists the tools at endpoint with key and calls
// every tool of all: the key lists exactly want, and what it lists is
// exactly what it can call (403 "not available" for the rest).
func checkVisibleIsCallable(t *testing.T, endpoint, key string, all, want []string) {
	t.Helper()
	listed := listTools(t, endpoint, map[string]string{"x-litellm-api-key": key})
	if !slices.Equal(listed, want) {
		t.Errorf("listed %v, want %v", listed, want)
	}
	var callable []string
	for _, tool := range all {
		status, body := callTool(t, endpoint, key, tool, `{}`)
		switch {
		case status == 200 && !strings.Contains(body, `"error"`):
			callable = append(callable, tool)
		case status == 403 && strings.Contains(body, "Access denied: tool "+tool+" is not available to this key"):
		default:
			t.Errorf("call %s: %d %s", tool, status, body)
		}
	}
	if !slices.Equal(callable, listed) {
		t.Errorf("callable %v, listed %v: visible and callable disagree", callable, listed)
	}
}

// TestOrgFallbackAndRequireKeyAccess: LiteLLM's MCP permission rules
// through real Envoy. When neither a key nor its team sets servers, the
// organization's list applies; with general_settings.
// require_key_mcp_access_defined, a key that sets no servers inherits none
// of its team's.
func TestOrgFallbackAndRequireKeyAccess(t *testing.T) {
	ups := []any{
		rawUpstream(t, "wiki", "search"),
		rawUpstream(t, "github", "list_issues"),
		rawUpstream(t, "jira", "get_ticket"),
	}
	const cfg = `
mcp_servers:
  wiki: {url: "%s"}
  github: {url: "%s", access_groups: [dev]}
  jira: {url: "%s", access_groups: [dev]}
access:
  decision_log: {output: "off"}
  keys:
    - {key_alias: loose, key: sk-loose-0123456789, team_id: open}
    - {key_alias: inherits, key: sk-inherits-0123456789, team_id: listed}
    - {key_alias: narrows, key: sk-narrows-0123456789, team_id: listed, object_permission: {mcp_servers: [jira, wiki]}}
  teams:
    - {team_id: open, organization_id: acme}
    - {team_id: listed, object_permission: {mcp_access_groups: [dev]}}
  organizations:
    - {organization_id: acme, object_permission: {mcp_servers: [github, jira]}}
`
	all := []string{"github-list_issues", "jira-get_ticket", "wiki-search"}
	for _, tt := range []struct {
		name    string
		general string
		want    map[string][]string
	}{
		{"org fallback", "", map[string][]string{
			"sk-loose-0123456789":    {"github-list_issues", "jira-get_ticket"}, // the organization's list
			"sk-inherits-0123456789": {"github-list_issues", "jira-get_ticket"}, // the team's list
			"sk-narrows-0123456789":  {"jira-get_ticket"},                       // key ∩ team
		}},
		{"require_key_mcp_access_defined", "general_settings:\n  require_key_mcp_access_defined: true\n", map[string][]string{
			"sk-loose-0123456789":    {"github-list_issues", "jira-get_ticket"}, // no team list: unchanged
			"sk-inherits-0123456789": nil,                                       // inherits nothing
			"sk-narrows-0123456789":  {"jira-get_ticket"},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gw := gatewayUnder(t, tt.general+fmt.Sprintf(cfg, ups...))
			for key, want := range tt.want {
				t.Run(strings.TrimSuffix(key, "-0123456789"), func(t *testing.T) {
					checkVisibleIsCallable(t, gw.Endpoint, key, all, want)
				})
			}
		})
	}
}

// TestKeyFromAuthorization: with access.key_from_authorization (off by
// default, see docs/access-control.md), a gateway key sent as
// "Authorization: Bearer <key>" authenticates, as in LiteLLM, and that
// Authorization never reaches an upstream, even one whose extra_headers
// forward Authorization; with the key in x-litellm-api-key, Authorization
// is the client's own, forwarded as configured.
func TestKeyFromAuthorization(t *testing.T) {
	gh := startUpstream(t, "gh", false, "echo")
	gw := gatewayUnder(t, `
general_settings:
  master_key: sk-master-0123456789
mcp_servers:
  gh:
    url: "`+gh.URL+`"
    extra_headers: [Authorization]
access:
  key_from_authorization: true
  decision_log: {output: "off"}
  keys:
    - {key_alias: a, key: sk-a-0123456789, object_permission: {mcp_servers: [gh]}}
`)
	call := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"gh-echo","arguments":{"text":"x"}}}`)

	status, _, body := post(t, gw.Endpoint, call, map[string]string{"Authorization": "Bearer sk-a-0123456789"})
	if status != 200 || !strings.Contains(body, "gh:echo:x") {
		t.Fatalf("key in Authorization: %d %s", status, body)
	}
	for name, vs := range gh.LastHeaders() {
		for _, v := range vs {
			if strings.Contains(v, "sk-a-0123456789") || strings.EqualFold(name, "Authorization") {
				t.Errorf("the upstream got %s: %s", name, v)
			}
		}
	}
	if names := listTools(t, gw.Endpoint, map[string]string{"Authorization": "Bearer sk-a-0123456789"}); !slices.Equal(names, []string{"gh-echo"}) {
		t.Errorf("tools/list with the key in Authorization: %v", names)
	}

	status, _, body = post(t, gw.Endpoint, call, map[string]string{"x-litellm-api-key": "sk-a-0123456789", "Authorization": "Bearer upstream-token"})
	if status != 200 || !strings.Contains(body, "gh:echo:x") {
		t.Fatalf("key in x-litellm-api-key: %d %s", status, body)
	}
	if got := gh.LastHeaders().Get("Authorization"); got != "Bearer upstream-token" {
		t.Errorf("extra_headers Authorization = %q, want the client's", got)
	}

	status, hdr, body := post(t, gw.Endpoint, call, map[string]string{"Authorization": "Bearer sk-nobody-0123456789"})
	if status != 401 || !strings.Contains(body, "invalid gateway key") || hdr.Get("Www-Authenticate") != `Bearer realm="mcpgw", error="invalid_token"` {
		t.Errorf("unknown key in Authorization: %d %v %s", status, hdr, body)
	}
}
