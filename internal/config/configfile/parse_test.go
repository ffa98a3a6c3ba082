package configfile

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/internal/config"
)

// TestParseProblems checks the message (with file, line and path) for
// each kind of mistake.
func TestParseProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		env  map[string]string
		want string // substring of one problem's String()
	}{
		{
			name: "unknown server key suggests the known one",
			src:  "mcp_servers:\n  github:\n    url: https://x.example/mcp\n    auth_typ: api_key\n",
			want: `test.yaml:4: mcp_servers.github.auth_typ: unknown key (did you mean "auth_type"?)`,
		},
		{
			name: "unknown server key far from any known key has no hint",
			src:  "mcp_servers:\n  github:\n    url: https://x.example/mcp\n    colour: blue\n",
			want: `test.yaml:4: mcp_servers.github.colour: unknown key`,
		},
		{
			name: "unknown auth_type lists the accepted values",
			src:  "mcp_servers:\n  github:\n    url: https://x.example/mcp\n    auth_type: foo\n",
			want: `test.yaml:4: mcp_servers.github.auth_type: unknown value "foo" (want one of none, api_key, bearer_token, basic, authorization, token, oauth2, aws_sigv4, oauth2_token_exchange, oauth2_id_jag, true_passthrough, oauth_delegate)`,
		},
		{
			name: "misspelt auth_type value gets a hint",
			src:  "mcp_servers:\n  github:\n    url: https://x.example/mcp\n    auth_type: bearer\n",
			want: `(did you mean "bearer_token"?)`,
		},
		{
			name: "streamable_http is spelled http in LiteLLM",
			src:  "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    transport: streamable_http\n",
			want: `test.yaml:4: mcp_servers.a.transport: unknown value "streamable_http" (LiteLLM spells Streamable HTTP "http")`,
		},
		{
			name: "duplicate server",
			src:  "mcp_servers:\n  github:\n    url: https://a.example/mcp\n  github:\n    url: https://b.example/mcp\n",
			want: `test.yaml:4: mcp_servers.github: duplicate key (first defined at line 2)`,
		},
		{
			name: "duplicate key inside a server",
			src:  "mcp_servers:\n  a:\n    url: https://a.example/mcp\n    url: https://b.example/mcp\n",
			want: `test.yaml:4: mcp_servers.a.url: duplicate key (first defined at line 3)`,
		},
		{
			name: "alias containing the separator",
			src:  "mcp_servers:\n  my-server:\n    url: https://x.example/mcp\n",
			want: `test.yaml:2: mcp_servers.my-server: alias contains the tool prefix separator "-"; rename it or set general_settings.mcp_tool_prefix_separator`,
		},
		{
			name: "alias containing a custom separator",
			src:  "general_settings:\n  mcp_tool_prefix_separator: __\nmcp_servers:\n  my__server:\n    url: https://x.example/mcp\n",
			want: `test.yaml:4: mcp_servers.my__server: alias contains the tool prefix separator "__"`,
		},
		{
			name: "alias with a space is quoted in the path",
			src:  "mcp_servers:\n  my server:\n    url: https://x.example/mcp\n",
			want: `test.yaml:2: mcp_servers."my server": alias must be 1-64 characters of A-Z, a-z, 0-9, _ and -`,
		},
		{
			name: "alias too long",
			src:  "mcp_servers:\n  " + strings.Repeat("a", 65) + ":\n    url: https://x.example/mcp\n",
			want: `alias must be 1-64 characters`,
		},
		{
			name: "alias key checked too",
			src:  "mcp_servers:\n  github:\n    url: https://x.example/mcp\n    alias: gh-1\n",
			want: `test.yaml:4: mcp_servers.github.alias: alias contains the tool prefix separator "-"`,
		},
		{
			name: "server name with separator is rejected even with an alias, as in LiteLLM",
			src:  "mcp_servers:\n  git-hub:\n    url: https://x.example/mcp\n    alias: gh\n",
			want: `test.yaml:2: mcp_servers.git-hub: server name contains the tool prefix separator "-"`,
		},
		{
			name: "two servers with the same alias",
			src:  "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    alias: b\n  b:\n    url: https://y.example/mcp\n",
			want: `test.yaml:5: mcp_servers.b: same alias as mcp_servers.a; aliases prefix tool names and must be unique`,
		},
		{
			name: "url required for http",
			src:  "mcp_servers:\n  a:\n    description: nothing else\n",
			want: `test.yaml:2: mcp_servers.a: url is required for transport http`,
		},
		{
			name: "url required for sse",
			src:  "mcp_servers:\n  a:\n    transport: sse\n",
			want: `test.yaml:2: mcp_servers.a: url is required for transport sse`,
		},
		{
			name: "command without transport stdio gets a hint",
			src:  "mcp_servers:\n  a:\n    command: npx\n",
			want: `mcp_servers.a: url is required for transport http (set transport: stdio to run command)`,
		},
		{
			name: "stdio needs command",
			src:  "mcp_servers:\n  a:\n    transport: stdio\n",
			want: `test.yaml:2: mcp_servers.a: command is required for transport stdio`,
		},
		{
			name: "empty server entry",
			src:  "mcp_servers:\n  a:\n",
			want: `test.yaml:2: mcp_servers.a: is empty; a server needs at least url`,
		},
		{
			name: "relative url",
			src:  "mcp_servers:\n  a:\n    url: /mcp\n",
			want: `test.yaml:3: mcp_servers.a.url: must be an absolute http:// or https:// URL`,
		},
		{
			name: "url without host",
			src:  "mcp_servers:\n  a:\n    url: \"http:///mcp\"\n",
			want: `test.yaml:3: mcp_servers.a.url: has no host`,
		},
		{
			name: "url with a bad port",
			src:  "mcp_servers:\n  a:\n    url: \"http://x.example:99999/mcp\"\n",
			want: `mcp_servers.a.url: has an invalid port`,
		},
		{
			name: "mcp_servers must be a mapping",
			src:  "mcp_servers:\n  - url: https://x.example/mcp\n",
			want: `test.yaml:2: mcp_servers: must be a mapping, got a list`,
		},
		{
			name: "unknown top-level section suggests mcp_servers",
			src:  "mcp_server:\n  a:\n    url: https://x.example/mcp\n",
			want: `test.yaml:1: mcp_server: unknown top-level section (did you mean "mcp_servers"?)`,
		},
		{
			name: "unknown general setting suggests the known one",
			src:  "general_settings:\n  mcp_tool_prefix_seperator: _\n",
			want: `test.yaml:2: general_settings.mcp_tool_prefix_seperator: unknown key (did you mean "mcp_tool_prefix_separator"?)`,
		},
		{
			name: "separator with characters tool names cannot have",
			src:  "general_settings:\n  mcp_tool_prefix_separator: \"::\"\n",
			want: `test.yaml:2: general_settings.mcp_tool_prefix_separator: "::" has characters MCP tool names cannot contain`,
		},
		{
			name: "empty separator",
			src:  "general_settings:\n  mcp_tool_prefix_separator: \"\"\n",
			want: `general_settings.mcp_tool_prefix_separator: must not be empty`,
		},
		{
			name: "bad separator from the environment has no line",
			env:  map[string]string{"MCP_TOOL_PREFIX_SEPARATOR": "/"},
			want: `test.yaml: general_settings.mcp_tool_prefix_separator: "/" has characters MCP tool names cannot contain (use letters, digits, _, - or .) (from environment variable MCP_TOOL_PREFIX_SEPARATOR)`,
		},
		{
			name: "bad client-side auth header name",
			src:  "general_settings:\n  mcp_client_side_auth_header_name: \"x mcp\"\n",
			want: `test.yaml:2: general_settings.mcp_client_side_auth_header_name: must be an HTTP header name`,
		},
		{
			name: "body limit above 64 MiB",
			src:  "gateway:\n  max_request_body_bytes: 67108865\n",
			want: `test.yaml:2: gateway.max_request_body_bytes: must be between 1 and 67108864 (64 MiB)`,
		},
		{
			name: "body limit zero",
			src:  "gateway:\n  max_request_body_bytes: 0\n",
			want: `gateway.max_request_body_bytes: must be between 1 and 67108864`,
		},
		{
			name: "answer limit below 1 KiB",
			src:  "gateway:\n  max_response_body_bytes: 1000\n",
			want: `test.yaml:2: gateway.max_response_body_bytes: must be between 1024 (1 KiB) and 1073741824 (1 GiB)`,
		},
		{
			name: "request timeout within the ext_proc message timeout",
			src:  "gateway:\n  request_timeout: 10\n",
			want: `test.yaml:2: gateway.request_timeout: must be between 11 and 3600 seconds`,
		},
		{
			name: "port not a number",
			src:  "gateway:\n  port: http\n",
			want: `test.yaml:2: gateway.port: must be an integer`,
		},
		{
			name: "unknown log level",
			src:  "gateway:\n  log_level: warning\n",
			want: `test.yaml:2: gateway.log_level: unknown value "warning" (want one of debug, info, warn, error)`,
		},
		{
			name: "list expected",
			src:  "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    allowed_tools: get_issue\n",
			want: `test.yaml:4: mcp_servers.a.allowed_tools: must be a list of strings, got a string`,
		},
		{
			name: "list items must be strings",
			src:  "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    allowed_tools:\n      - {name: x}\n",
			want: `test.yaml:5: mcp_servers.a.allowed_tools[0]: must be a string, got a mapping`,
		},
		{
			name: "mapping expected",
			src:  "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    static_headers: [X-A]\n",
			want: `test.yaml:4: mcp_servers.a.static_headers: must be a mapping, got a list`,
		},
		{
			name: "boolean expected",
			src:  "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    allow_all_keys: maybe\n",
			want: `test.yaml:4: mcp_servers.a.allow_all_keys: must be true or false`,
		},
		{
			name: "allowed_params values are lists",
			src:  "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    allowed_params:\n      list_issues: owner\n",
			want: `test.yaml:5: mcp_servers.a.allowed_params.list_issues: must be a list of strings, got a string`,
		},
		{
			name: "timeout must be positive",
			src:  "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    timeout: -1\n",
			want: `test.yaml:4: mcp_servers.a.timeout: must be above 0 and at most 86400 seconds`,
		},
		{
			name: "oauth2 needs oauth2_flow, as in LiteLLM",
			src:  "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    auth_type: oauth2\n",
			want: `test.yaml:4: mcp_servers.a.auth_type: auth_type oauth2 needs oauth2_flow: client_credentials or authorization_code`,
		},
		{
			name: "dcr_bridge only with client-forwarded token modes",
			src:  "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    auth_type: oauth2\n    oauth2_flow: authorization_code\n    dcr_bridge: true\n",
			want: `test.yaml:6: mcp_servers.a.dcr_bridge: only valid with auth_type true_passthrough or oauth_delegate`,
		},
		{
			name: "oauth URL checked",
			src:  "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    auth_type: oauth2\n    oauth2_flow: client_credentials\n    token_url: /token\n",
			want: `test.yaml:6: mcp_servers.a.token_url: must be an absolute http:// or https:// URL`,
		},
		{
			name: "static header name must be a token",
			src:  "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    static_headers:\n      \"X Bad\": v\n",
			want: `test.yaml:5: mcp_servers.a.static_headers."X Bad": is not a valid HTTP header name`,
		},
		{
			name: "static header cannot set Host",
			src:  "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    static_headers:\n      Host: evil.example\n",
			want: `test.yaml:5: mcp_servers.a.static_headers.Host: cannot be set in static_headers`,
		},
		{
			name: "static headers differing only in case",
			src:  "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    static_headers:\n      X-Key: a\n      x-key: b\n",
			want: `mcp_servers.a.static_headers.x-key: same header as mcp_servers.a.static_headers.X-Key (header names ignore case)`,
		},
		{
			name: "extra_headers names must be tokens",
			src:  "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    extra_headers: [\"bad header\"]\n",
			want: `test.yaml:4: mcp_servers.a.extra_headers[0]: is not a valid HTTP header name`,
		},
		{
			name: "negative cost",
			src:  "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    mcp_info:\n      mcp_server_cost_info:\n        default_cost_per_query: -1\n",
			want: `test.yaml:6: mcp_servers.a.mcp_info.mcp_server_cost_info.default_cost_per_query: must not be negative`,
		},
		{
			name: "unknown cost key",
			src:  "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    mcp_info:\n      mcp_server_cost_info:\n        default_cost: 1\n",
			want: `mcp_servers.a.mcp_info.mcp_server_cost_info.default_cost: unknown key (did you mean "default_cost_per_query"?)`,
		},
		{
			name: "env_vars scope",
			src:  "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    env_vars:\n      - name: TOKEN\n        scope: team\n",
			want: `test.yaml:6: mcp_servers.a.env_vars[0].scope: unknown value "team" (want one of global, user)`,
		},
		{
			name: "syntax error has a line",
			src:  "mcp_servers:\n  a:\n    url: [unclosed\n",
			want: `test.yaml:3: invalid YAML: did not find expected ',' or ']'`,
		},
		{
			name: "the file must be a mapping",
			src:  "- mcp_servers\n",
			want: `test.yaml:1: the file must be a mapping of sections`,
		},
		{
			name: "mapping keys must be strings",
			src:  "mcp_servers:\n  [a, b]:\n    url: https://x.example/mcp\n",
			want: `test.yaml:2: mcp_servers: mapping keys must be strings, got a list`,
		},
		{
			name: "merge key must merge mappings",
			src:  "mcp_servers:\n  a:\n    <<: 3\n    url: https://x.example/mcp\n",
			want: `test.yaml:3: mcp_servers.a: merge key (<<) value must be a mapping or a list of mappings, got a number`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			findLine(t, problemsOf(t, tt.src, tt.env), tt.want)
		})
	}
}

func TestParseDefaults(t *testing.T) {
	for _, src := range []string{"", "# only a comment\n", "~\n", "mcp_servers:\n"} {
		cfg := mustParse(t, src, nil)
		if len(cfg.Servers) != 0 || len(cfg.Unsupported) != 0 || len(cfg.Ignored) != 0 {
			t.Errorf("%q: got %+v, want an empty config", src, cfg)
		}
		want := config.GatewaySettings{Port: 4000, MaxRequestBodyBytes: 1 << 20, MaxResponseBodyBytes: 16 << 20, RequestTimeout: config.DefaultRequestTimeout, LogLevel: "info", SessionTTL: config.DefaultSessionTTL, DrainTimeout: config.DefaultDrainTimeout}
		if !reflect.DeepEqual(cfg.Gateway, want) {
			t.Errorf("%q: Gateway = %+v, want %+v", src, cfg.Gateway, want)
		}
		if cfg.General.MCPToolPrefixSeparator != "-" || cfg.General.MCPClientSideAuthHeaderName != "x-mcp-auth" {
			t.Errorf("%q: General = %+v, want LiteLLM's defaults", src, cfg.General)
		}
	}
}

func TestParseServer(t *testing.T) {
	src := `mcp_servers:
  github:
    url: "https://api.githubcopilot.com/mcp"
    description: GitHub
    auth_type: bearer_token
    auth_value: ghp_x
    static_headers:
      X-Team: platform
  local:
    transport: stdio
    command: npx
    args: ["-y", "server"]
    env:
      PORT: 8080
gateway:
  port: 8080
  max_request_body_bytes: 0x100000
  max_response_body_bytes: 33554432
  request_timeout: 45
  log_level: debug
`
	cfg := mustParse(t, src, nil)
	if len(cfg.Servers) != 2 {
		t.Fatalf("got %d servers, want 2", len(cfg.Servers))
	}
	gh, local := cfg.Servers[0], cfg.Servers[1]
	if gh.Name != "github" || gh.Alias != "github" || gh.Line != 2 || gh.Transport != config.TransportHTTP ||
		gh.URL != "https://api.githubcopilot.com/mcp" || gh.Description != "GitHub" ||
		gh.AuthType != config.AuthBearerToken || gh.AuthValue != "ghp_x" || gh.StaticHeaders["X-Team"] != "platform" {
		t.Errorf("github = %+v", gh)
	}
	if gh.MCPInfo.ServerName != "github" || gh.MCPInfo.Description != "GitHub" || !gh.AvailableOnPublicInternet {
		t.Errorf("github defaults: MCPInfo %+v, AvailableOnPublicInternet %v", gh.MCPInfo, gh.AvailableOnPublicInternet)
	}
	if local.Transport != config.TransportStdio || local.Command != "npx" || strings.Join(local.Args, " ") != "-y server" ||
		local.Env["PORT"] != "8080" {
		t.Errorf("local = %+v", local)
	}
	if !reflect.DeepEqual(cfg.Gateway, config.GatewaySettings{Port: 8080, MaxRequestBodyBytes: 1 << 20, MaxResponseBodyBytes: 32 << 20, RequestTimeout: 45 * time.Second, LogLevel: "debug", SessionTTL: config.DefaultSessionTTL, DrainTimeout: config.DefaultDrainTimeout}) {
		t.Errorf("Gateway = %+v", cfg.Gateway)
	}
}

func TestParseAliases(t *testing.T) {
	src := `litellm_settings:
  mcp_aliases:
    gh: github_server
    gh2: github_server
    docs: deepwiki
    nowhere: missing_server
mcp_servers:
  github_server:
    url: https://a.example/mcp
  deepwiki:
    url: https://b.example/mcp
    alias: wiki
`
	cfg := mustParse(t, src, nil)
	if got := cfg.Servers[0].Alias; got != "gh" {
		t.Errorf("github_server alias = %q, want the first mcp_aliases entry naming it, gh", got)
	}
	if got := cfg.Servers[1].Alias; got != "wiki" {
		t.Errorf("deepwiki alias = %q, want its own alias key to win", got)
	}
	findLine(t, cfg.Ignored, `test.yaml:4: litellm_settings.mcp_aliases.gh2: ignored: no mcp_servers entry without its own alias is named "github_server"`)
	findLine(t, cfg.Ignored, `test.yaml:5: litellm_settings.mcp_aliases.docs: ignored`)
	findLine(t, cfg.Ignored, `test.yaml:6: litellm_settings.mcp_aliases.nowhere: ignored`)
	for _, p := range cfg.Ignored {
		if p.Path == "litellm_settings" {
			t.Errorf("litellm_settings with only mcp_aliases should not be noted as ignored: %s", p)
		}
	}
}

func TestParseAliasFromMCPAliasesIsValidated(t *testing.T) {
	src := "litellm_settings:\n  mcp_aliases:\n    gh-x: github\nmcp_servers:\n  github:\n    url: https://a.example/mcp\n"
	findLine(t, problemsOf(t, src, nil), `test.yaml:3: litellm_settings.mcp_aliases.gh-x: alias contains the tool prefix separator "-"`)
}

func TestParseYAMLFeatures(t *testing.T) {
	src := `common: &common
  transport: http
  auth_type: api_key
  auth_value: k
mcp_servers:
  a:
    <<: *common
    url: https://a.example/mcp
  b:
    <<: *common
    url: https://b.example/mcp
    auth_type: bearer_token
    allow_all_keys: yes
`
	// "common" is not a known section, so it must be reported...
	findLine(t, problemsOf(t, src, nil), `test.yaml:1: common: unknown top-level section`)

	// ...but anchors may live inside a known section.
	src = `mcp_servers:
  a: &common
    url: https://a.example/mcp
    transport: http
    auth_type: api_key
    auth_value: k
  b:
    <<: *common
    url: https://b.example/mcp
    auth_type: bearer_token
    allow_all_keys: yes
`
	cfg := mustParse(t, src, nil)
	b := cfg.Servers[1]
	if b.URL != "https://b.example/mcp" || b.AuthType != config.AuthBearerToken || b.AuthValue != "k" || !b.AllowAllKeys {
		t.Errorf("merged server b = %+v; want own keys to win over merged ones, and yes = true", b)
	}
}

func TestParseAuthenticationTokenWins(t *testing.T) {
	src := "mcp_servers:\n  a:\n    url: https://a.example/mcp\n    auth_type: api_key\n    authentication_token: new\n    auth_value: old\n"
	if got := mustParse(t, src, nil).Servers[0].AuthValue; got != "new" {
		t.Errorf("AuthValue = %q, want authentication_token's value, as LiteLLM reads it first", got)
	}
}

func TestParseMergeBombIsBounded(t *testing.T) {
	// Each level merges the previous one nine times: 9^13 keys if expanded.
	var b strings.Builder
	b.WriteString("mcp_servers:\n  a0: &a0 {url: \"http://h\"}\n")
	prev := "a0"
	for i := 1; i < 14; i++ {
		n := "a" + string(rune('a'+i))
		b.WriteString("  " + n + ": &" + n + " {<<: [" + strings.Repeat("*"+prev+", ", 8) + "*" + prev + "]}\n")
		prev = n
	}
	findLine(t, problemsOf(t, b.String(), nil), "config is too large")
}
