package configfile

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/internal/config"
)

// errorsOf returns the messages and pointers of a report's errors.
func errorsOf(r Report) []string {
	var out []string
	for _, p := range r.Errors {
		out = append(out, p.Pointer+": "+p.Message)
	}
	return out
}

func TestParseServerJSON(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string // pointer: message, in any order; nil means OK
	}{
		{"minimal", `{"server_name": "github", "url": "https://api.example/mcp", "transport": "http"}`, nil},
		{"litellm doc example", `{"server_name": "zapier", "alias": "zapier", "description": "Zapier", "url": "https://actions.zapier.com/mcp/sk-ak-x/sse", "transport": "sse", "auth_type": "none", "mcp_access_groups": ["dev_group"], "allowed_tools": ["a"], "mcp_info": {"server_name": "Zapier", "description": "z"}}`, nil},
		{"credentials nested", `{"server_name": "b", "url": "https://b.example/mcp", "auth_type": "oauth2", "oauth2_flow": "client_credentials", "token_url": "https://auth.example/token", "credentials": {"client_id": "id", "client_secret": "s3cr3t", "scopes": ["a"]}}`, nil},
		{"GET answer sent back", `{"server_id": "0b9c", "server_name": "g", "url": "https://g.example/mcp", "transport": "http", "credentials": null, "created_at": "2026-01-01T00:00:00Z", "status": "healthy", "teams": [], "mcp_access_groups": []}`, nil},
		{"no name", `{"url": "https://g.example/mcp"}`, []string{"/server_name: is required: the server's name (and its tool prefix unless alias is set)"}},
		{"bad name", `{"server_name": "my server", "url": "https://g.example/mcp"}`, []string{"/server_name: alias must be 1-64 characters of A-Z, a-z, 0-9, _ and - (it prefixes tool names)"}},
		{"separator in name", `{"server_name": "my-server", "url": "https://g.example/mcp"}`, []string{`/server_name: alias contains the tool prefix separator "-"; rename it or set general_settings.mcp_tool_prefix_separator`}},
		{"typo", `{"server_name": "g", "urll": "https://g.example/mcp"}`, []string{`/urll: unknown key (did you mean "url"?)`}},
		{"api typo", `{"server_name": "g", "url": "https://g.example/mcp", "mcp_acces_groups": ["x"]}`, []string{`/mcp_acces_groups: unknown key (did you mean "mcp_access_groups"?)`}},
		{"credentials typo", `{"server_name": "g", "url": "https://g.example/mcp", "credentials": {"auth_valu": "x"}}`, []string{`/credentials/auth_valu: unknown key (did you mean "auth_value"?)`}},
		{"bad auth value", `{"server_name": "g", "url": "https://g.example/mcp", "auth_type": "bearer_token", "credentials": {"auth_value": "abc\n"}}`, []string{`/credentials/auth_value: must not end with a line break (a secret file's trailing newline?)`}},
		{"group item", `{"server_name": "g", "url": "https://g.example/mcp", "mcp_access_groups": ["a", 3, null]}`, []string{`/mcp_access_groups/2: must be a string, got null`}},
		{"transport", `{"server_name": "g", "url": "https://g.example/mcp", "transport": "streamable_http"}`, []string{`/transport: unknown value "streamable_http" (LiteLLM spells Streamable HTTP "http")`}},
		{"static header", `{"server_name": "g", "url": "https://g.example/mcp", "static_headers": {"Host": "x"}}`, []string{`/static_headers/Host: cannot be set in static_headers`}},
		{"env reference", `{"server_name": "g", "url": "https://g.example/mcp", "auth_type": "api_key", "credentials": {"auth_value": "os.environ/SECRET"}}`, []string{`/credentials/auth_value: os.environ/ references are read from the config file only, not from admin API bodies`}},
		{"set twice", `{"server_name": "g", "url": "https://g.example/mcp", "auth_value": "a", "credentials": {"auth_value": "b"}}`, []string{`/credentials/auth_value: also set at /auth_value; set it once`}},
		{"url required", `{"server_name": "g", "transport": "sse"}`, []string{`: url is required for transport sse`}},
		{"not an object", `[1]`, []string{`: the body must be a JSON object, got a list`}},
		{"syntax", `{"server_name": `, []string{`: invalid JSON: unexpected end of the body`}},
		{"trailing", `{} {}`, []string{`: invalid JSON: more than one value in the body`}},
		{"duplicate", `{"server_name": "g", "server_name": "h", "url": "https://g.example/mcp"}`, []string{`/server_name: duplicate key`}},
		{"deep", `{"server_name": "g", "url": "https://g.example/mcp", "mcp_info": ` + strings.Repeat(`{"a": `, 40) + `1` + strings.Repeat(`}`, 40) + `}`, []string{`/mcp_info/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a: nested more than 32 levels deep`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, r := ParseServerJSON([]byte(tt.body), JSONOptions{})
			got := errorsOf(r)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestParseServerJSONFields(t *testing.T) {
	s, r := ParseServerJSON([]byte(`{"server_id": "3f1e", "server_name": "billing", "alias": "bill", "url": "https://b.example/mcp", "transport": "http",
		"auth_type": "oauth2", "oauth2_flow": "client_credentials", "token_url": "https://auth.example/token",
		"credentials": {"client_id": "id", "client_secret": "cs", "scopes": ["a", "b"]},
		"mcp_access_groups": ["g1"], "static_headers": {"X-T": "v"}, "timeout": 1.5, "allow_all_keys": true, "tool_name_to_display_name": {"a": "A"}}`), JSONOptions{})
	if !r.OK() {
		t.Fatalf("errors: %v", r.Errors)
	}
	if s.Name != "billing" || s.Alias != "bill" || s.ServerID != "3f1e" || s.OAuth2.ClientSecret != "cs" || len(s.OAuth2.Scopes) != 2 ||
		s.AccessGroups[0] != "g1" || s.StaticHeaders["X-T"] != "v" || s.Timeout != 1500*time.Millisecond || !s.AllowAllKeys || s.Transport != config.TransportHTTP {
		t.Errorf("server = %+v", s)
	}
	if len(r.Notes) != 1 || r.Notes[0].Pointer != "/tool_name_to_display_name" {
		t.Errorf("notes = %+v", r.Notes)
	}
}

// TestSameMistakeSameMessage: a mistake in a config entry and in an API
// body gets the same message.
func TestSameMistakeSameMessage(t *testing.T) {
	tests := []struct {
		name, yaml, json, pointer string
	}{
		{"unknown key", "urll: https://g.example/mcp", `"urll": "https://g.example/mcp"`, "/urll"},
		{"bad url", "url: ftp://g.example", `"url": "ftp://g.example"`, "/url"},
		{"auth type", "url: https://g.example/mcp\n    auth_type: bearer", `"url": "https://g.example/mcp", "auth_type": "bearer"`, "/auth_type"},
		{"timeout", "url: https://g.example/mcp\n    timeout: -1", `"url": "https://g.example/mcp", "timeout": -1`, "/timeout"},
		{"header", "url: https://g.example/mcp\n    extra_headers: [x-litellm-api-key]", `"url": "https://g.example/mcp", "extra_headers": ["x-litellm-api-key"]`, "/extra_headers/0"},
		{"stdio", "transport: stdio", `"transport": "stdio"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := problemsOf(t, "mcp_servers:\n  g:\n    "+tt.yaml+"\n", nil)
			_, r := ParseServerJSON([]byte(`{"server_name": "g", `+tt.json+`}`), JSONOptions{})
			if len(ps) != 1 || len(r.Errors) != 1 {
				t.Fatalf("file: %v\napi: %v", ps, r.Errors)
			}
			if ps[0].Message != r.Errors[0].Message || r.Errors[0].Pointer != tt.pointer {
				t.Errorf("file %q\napi  %q at %q, want pointer %q", ps[0].Message, r.Errors[0].Message, r.Errors[0].Pointer, tt.pointer)
			}
		})
	}
	keyTests := []struct{ name, yaml, json, pointer string }{
		{"both", "key: a\n      token: " + strings.Repeat("a", 64), `"key": "a", "token": "` + strings.Repeat("a", 64) + `"`, "/token"},
		{"expires", "key: a\n      expires: tomorrow", `"key": "a", "expires": "tomorrow"`, "/expires"},
		{"perm", "key: a\n      object_permission: {mcp_server: [x]}", `"key": "a", "object_permission": {"mcp_server": ["x"]}`, "/object_permission/mcp_server"},
		{"server ref", "key: a\n      object_permission: {mcp_servers: [nope]}", `"key": "a", "object_permission": {"mcp_servers": ["nope"]}`, "/object_permission/mcp_servers/0"},
	}
	refs := &References{Servers: map[string]string{}, AccessGroups: map[string]bool{}, Teams: map[string]bool{}, Organizations: map[string]bool{}}
	for _, tt := range keyTests {
		t.Run(tt.name, func(t *testing.T) {
			ps := problemsOf(t, "access:\n  keys:\n    - "+tt.yaml+"\n", nil)
			_, r := ParseKeyJSON([]byte(`{`+tt.json+`}`), JSONOptions{References: refs})
			if len(ps) != 1 || len(r.Errors) != 1 {
				t.Fatalf("file: %v\napi: %v", ps, r.Errors)
			}
			if ps[0].Message != r.Errors[0].Message || r.Errors[0].Pointer != tt.pointer {
				t.Errorf("file %q\napi  %q at %q, want pointer %q", ps[0].Message, r.Errors[0].Message, r.Errors[0].Pointer, tt.pointer)
			}
		})
	}
}

func TestParseKeyJSON(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	refs := &References{Servers: map[string]string{"wiki": "wiki", "uuid-1": "wiki"}, AccessGroups: map[string]bool{"docs": true}, Teams: map[string]bool{"t1": true}}
	k, r := ParseKeyJSON([]byte(`{"key": "sk-abc", "key_alias": "ci", "team_id": "t1", "duration": "30d", "models": ["gpt-4"], "metadata": {"a": 1},
		"object_permission": {"mcp_servers": ["uuid-1"], "mcp_access_groups": ["docs"], "mcp_tool_permissions": {"wiki": ["search"]}}}`), JSONOptions{Now: now, References: refs})
	if !r.OK() {
		t.Fatalf("errors: %v", r.Errors)
	}
	if k.Alias != "ci" || k.TeamID != "t1" || !k.Expires.Equal(now.Add(30*24*time.Hour)) || k.Permission.MCPServers[0] != "wiki" || len(k.Token) != 64 {
		t.Errorf("key = %+v", k)
	}
	for _, tt := range []struct{ body, want string }{
		{`{"key": "a", "duration": "3 days"}`, `/duration: must be a whole number and a unit: s, m, h, d, w or mo (e.g. "30d")`},
		{`{"key": "a", "duration": "1d", "expires": "2027-01-01"}`, `/duration: set duration or expires, not both`},
		{`{"key": "a", "team_id": "t2"}`, `/team_id: no access.teams entry has team_id "t2"`},
		{`{"key": "a", "key_alias": "master_key"}`, `/key_alias: master_key names general_settings.master_key in logs and policy; choose another alias`},
		{`{"key_alias": "x"}`, `: needs key (the key, e.g. os.environ/NAME) or token (its SHA-256)`},
		{`{"key": "a", "key_aliass": "x"}`, `/key_aliass: unknown key (did you mean "key_alias"?)`},
	} {
		_, r := ParseKeyJSON([]byte(tt.body), JSONOptions{Now: now, References: refs})
		if got := strings.Join(errorsOf(r), "\n"); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.body, got, tt.want)
		}
	}
}

// LiteLLM's key and team fields this gateway does not act on: MCP ones
// are type-checked and noted as not supported, a deny list that would go
// unenforced (blocked_tools) is refused, budget fields are noted.
func TestParseKeyJSONLiteLLMFields(t *testing.T) {
	refs := &References{Servers: map[string]string{"github": "github"}}
	for _, tt := range []struct{ body, errs, notes string }{
		{`{"key": "a", "mcp_rpm_limit": {"github": 100, "slack": 0}}`, ``,
			`/mcp_rpm_limit: not supported yet: tool calls are not rate-limited per key or team`},
		{`{"key": "a", "mcp_rpm_limit": {"github": -1, "slack": null, "x": "many"}}`,
			"/mcp_rpm_limit/github: must not be negative\n/mcp_rpm_limit/slack: must be an integer, got null\n/mcp_rpm_limit/x: must be an integer", ``},
		{`{"key": "a", "mcp_rpm_limit": [100]}`, `/mcp_rpm_limit: must be a mapping, got a list`, ``},
		{`{"key": "a", "object_permission": {"mcp_tool_search_enabled": true, "mcp_servers": ["github"]}}`, ``,
			`/object_permission/mcp_tool_search_enabled: not supported yet: tools are listed as usual`},
		{`{"key": "a", "object_permission": {"mcp_tool_search_enabled": "yes please"}}`, `/object_permission/mcp_tool_search_enabled: must be true or false`, ``},
		{`{"key": "a", "object_permission": {"blocked_tools": ["github-delete_repo"]}}`,
			`/object_permission/blocked_tools: is not supported: list the tools to refuse per server in mcp_disallowed_tools ({"server": ["tool"]})`, ``},
		{`{"key": "a", "object_permission": {"blocked_tools": [], "mcp_tool_search_enabled": false}}`, ``, ``},
		{`{"key": "a", "object_permission": {"blocked_tools": "github-delete_repo"}}`, `/object_permission/blocked_tools: must be a list of strings, got a string`, ``},
		{`{"key": "a", "object_permission": {"skills": ["s"], "models": ["m"]}}`, ``,
			"/object_permission/models: ignored: not an MCP server permission\n/object_permission/skills: ignored: not an MCP server permission"},
		{`{"key": "a", "temp_budget_increase": 100, "temp_budget_expiry": "10d"}`, ``,
			"/temp_budget_expiry: ignored: not an MCP setting\n/temp_budget_increase: ignored: not an MCP setting"},
	} {
		_, r := ParseKeyJSON([]byte(tt.body), JSONOptions{References: refs})
		if got := strings.Join(errorsOf(r), "\n"); got != tt.errs {
			t.Errorf("%s errors:\n got %q\nwant %q", tt.body, got, tt.errs)
		}
		var notes []string
		for _, n := range r.Notes {
			notes = append(notes, n.Pointer+": "+n.Message)
		}
		sort.Strings(notes)
		if got := strings.Join(notes, "\n"); tt.errs == "" && got != tt.notes {
			t.Errorf("%s notes:\n got %q\nwant %q", tt.body, got, tt.notes)
		}
	}
	if _, r := ParseTeamJSON([]byte(`{"team_id": "t", "mcp_rpm_limit": {"github": 500}}`), JSONOptions{References: refs}); !r.OK() || len(r.Notes) != 1 {
		t.Errorf("team mcp_rpm_limit: %v %v", r.Errors, r.Notes)
	}
}

func TestParseTeamAndOrganizationJSON(t *testing.T) {
	refs := &References{Servers: map[string]string{"wiki": "wiki"}, Organizations: map[string]bool{"acme": true}}
	tm, r := ParseTeamJSON([]byte(`{"team_id": "t", "team_alias": "T", "organization_id": "acme", "max_budget": 10, "object_permission": {"mcp_servers": ["wiki"]}}`), JSONOptions{References: refs})
	if !r.OK() || tm.ID != "t" || tm.OrganizationID != "acme" || tm.Permission.MCPServers[0] != "wiki" {
		t.Errorf("team = %+v, %v", tm, r.Errors)
	}
	_, r = ParseTeamJSON([]byte(`{"team_id": "t", "organization_id": "nope"}`), JSONOptions{References: refs})
	if got := strings.Join(errorsOf(r), "\n"); got != `/organization_id: no access.organizations entry has organization_id "nope"` {
		t.Errorf("got %q", got)
	}
	o, r := ParseOrganizationJSON([]byte(`{"organization_id": "o", "organization_alias": "O", "models": [], "object_permission": {"mcp_access_groups": []}}`), JSONOptions{References: refs})
	if !r.OK() || o.ID != "o" || o.Alias != "O" || o.Permission.MCPAccessGroups == nil {
		t.Errorf("org = %+v, %v", o, r.Errors)
	}
}

func TestSplitPath(t *testing.T) {
	for path, want := range map[string]string{
		`a.b[2].c`:               `/a/b/2/c`,
		`static_headers."X y.z"`: `/static_headers/X y.z`,
		`a."b/c~"`:               `/a/b~1c~0`,
	} {
		if got := pointerOf(splitPath(path)); got != want {
			t.Errorf("%s: got %s want %s", path, got, want)
		}
	}
}

// FuzzParseJSON feeds untrusted bodies to every admin-API parser: none may
// panic, and no message may repeat a secret-looking value from the body.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{
		`{"server_name": "g", "url": "https://g.example/mcp", "credentials": {"auth_value": "SECRETVALUE"}}`,
		`{"key": "SECRETVALUE", "key_alias": "a", "duration": "1d", "object_permission": {"mcp_servers": ["x"]}}`,
		`{"team_id": "t", "organization_id": "o"}`,
		`{"key": "k", "mcp_rpm_limit": {"g": 1, "h": null}, "object_permission": {"blocked_tools": ["g-x"], "mcp_tool_search_enabled": true}}`,
		`{"team_id": "t", "mcp_rpm_limit": [1], "temp_budget_increase": 1}`,
		`{"a": [1, 2.5, true, null, {"b": "c"}]}`,
		`[]`, `{`, `{"a": 1} x`, `{"x": "\ud83d\ude00\u0000"}`,
	} {
		f.Add([]byte(s))
	}
	refs := &References{Servers: map[string]string{}, AccessGroups: map[string]bool{}, Teams: map[string]bool{}, Organizations: map[string]bool{}}
	f.Fuzz(func(t *testing.T, body []byte) {
		var reports []Report
		_, r := ParseServerJSON(body, JSONOptions{})
		reports = append(reports, r)
		_, r = ParseKeyJSON(body, JSONOptions{References: refs})
		reports = append(reports, r)
		_, r = ParseTeamJSON(body, JSONOptions{References: refs})
		reports = append(reports, r)
		_, r = ParseOrganizationJSON(body, JSONOptions{})
		reports = append(reports, r)
		var secrets []string
		var v map[string]any
		if json.Unmarshal(body, &v) == nil {
			if c, ok := v["credentials"].(map[string]any); ok {
				if s, ok := c["auth_value"].(string); ok && len(s) > 8 {
					secrets = append(secrets, s)
				}
			}
			if s, ok := v["key"].(string); ok && len(s) > 8 {
				secrets = append(secrets, s)
			}
		}
		for _, r := range reports {
			for _, p := range append(r.Errors, r.Notes...) {
				for _, s := range secrets {
					if strings.Contains(p.Message, s) {
						t.Fatalf("message %q contains a secret", p.Message)
					}
				}
			}
		}
	})
}
