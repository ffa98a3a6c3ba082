package gateway

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/credentials"
)

// The config → runtime values step (upstreams.go): these tests parse a
// config file and check what the router, the sidecar and Envoy get.

// mustParseConfig parses src as "test.yaml" and fails the test on any
// problem.
func mustParseConfig(t *testing.T, src string, env map[string]string) *config.Config {
	t.Helper()
	cfg, err := configfile.Parse([]byte(src), "test.yaml", func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	})
	if err != nil {
		t.Fatalf("Parse: unexpected problems:\n%v", err)
	}
	return cfg
}

// configProblems parses src and returns its problems, failing the test
// when parsing succeeds.
func configProblems(t *testing.T, src string, env map[string]string) config.Problems {
	t.Helper()
	_, err := configfile.Parse([]byte(src), "test.yaml", func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	})
	var ps config.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error is %T, want Problems: %v", err, err)
	}
	return ps
}

// findProblem returns the problem whose String() contains want, or fails.
func findProblem(t *testing.T, list []config.Problem, want string) config.Problem {
	t.Helper()
	for _, p := range list {
		if strings.Contains(p.String(), want) {
			return p
		}
	}
	var lines []string
	for _, p := range list {
		lines = append(lines, "  "+p.String())
	}
	t.Fatalf("no problem contains %q; got:\n%s", want, strings.Join(lines, "\n"))
	return config.Problem{}
}

// TestAdaptedServers checks what the sidecar gets for stdio, legacy SSE
// and OpenAPI servers, and that they are no longer reported as
// unsupported.
func TestAdaptedServers(t *testing.T) {
	src := `mcp_servers:
  memory:
    transport: stdio
    command: npx
    args: ["-y", "@modelcontextprotocol/server-memory"]
    env:
      TOKEN: os.environ/MEM_TOKEN
    cwd: /tmp
    session_mode: per_session
    startup: eager
    idle_timeout: 90
    max_processes: 4
    max_concurrent_requests: 2
    timeout: 12
  legacy:
    url: https://user:pw@old.example/sse
    transport: sse
    auth_type: api_key
    auth_value: k1
  petstore_mcp:
    url: https://petstore.example/v2
    spec_path: ./testdata/petstore.json
    auth_type: bearer_token
    auth_value: t1
    timeout: 5
`
	cfg := mustParseConfig(t, src, map[string]string{"MEM_TOKEN": "s3cret"})
	// Only the credentials in legacy's URL are reported (and dropped).
	if len(cfg.Unsupported) != 1 || !strings.Contains(cfg.Unsupported[0].String(), "mcp_servers.legacy.url: not supported yet") {
		t.Fatalf("warnings = %v", cfg.Unsupported)
	}
	ups := Upstreams(cfg)
	mem, legacy, pet := ups[0].Adapter, ups[1].Adapter, ups[2].Adapter
	want := upstreams.Adapter{
		Kind: upstreams.AdapterStdio, Command: "npx", Args: []string{"-y", "@modelcontextprotocol/server-memory"},
		Env: map[string]string{"TOKEN": "s3cret"}, Dir: "/tmp", SessionMode: upstreams.SessionPerClient,
		Startup: upstreams.StartupEager, IdleTimeout: 90 * time.Second, MaxProcesses: 4, MaxConcurrent: 2,
		Timeout: 12 * time.Second,
	}
	if mem == nil || mem.Kind != want.Kind || mem.Command != want.Command || strings.Join(mem.Args, " ") != strings.Join(want.Args, " ") ||
		!maps.Equal(mem.Env, want.Env) || mem.Dir != want.Dir || mem.SessionMode != want.SessionMode || mem.Startup != want.Startup ||
		mem.IdleTimeout != want.IdleTimeout || mem.MaxProcesses != want.MaxProcesses || mem.MaxConcurrent != want.MaxConcurrent ||
		mem.Timeout != want.Timeout || mem.Headers != nil {
		t.Errorf("stdio adapter = %+v", mem)
	}
	if legacy == nil || legacy.Kind != upstreams.AdapterSSE || legacy.Source != "https://old.example/sse" ||
		legacy.Headers["X-API-Key"] != "k1" || len(ups[1].Credentials.Gateway().Set) != 0 || ups[1].URL != nil {
		t.Errorf("sse adapter = %+v, upstream credentials %v", legacy, ups[1].Credentials.Gateway())
	}
	if pet == nil || pet.Kind != upstreams.AdapterOpenAPI || pet.SpecPath != "./testdata/petstore.json" ||
		pet.Source != "https://petstore.example/v2" || pet.Headers["Authorization"] != "Bearer t1" || pet.Timeout != 5*time.Second {
		t.Errorf("openapi adapter = %+v", pet)
	}
}

func TestAdaptedDefaults(t *testing.T) {
	cfg := mustParseConfig(t, "mcp_servers:\n  a:\n    transport: stdio\n    command: srv\n", nil)
	a := Upstreams(cfg)[0].Adapter
	if a.SessionMode != upstreams.SessionShared || a.Startup != upstreams.StartupLazy || a.IdleTimeout != 0 || a.MaxProcesses != 0 {
		t.Errorf("defaults = %+v", a)
	}
}

// timeout applies to every server now: LiteLLM's per-server call
// deadline, in seconds (fractions allowed).
func TestServerTimeout(t *testing.T) {
	cfg := mustParseConfig(t, "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    timeout: 2.5\n  b:\n    url: https://y.example/mcp\n", nil)
	if len(cfg.Unsupported) != 0 || len(cfg.Ignored) != 0 {
		t.Fatalf("timeout reported: %v %v", cfg.Unsupported, cfg.Ignored)
	}
	ups := Upstreams(cfg)
	if got := ups[0].CallTimeout(); got != 2500*time.Millisecond {
		t.Errorf("a: %v", got)
	}
	if got := ups[1].CallTimeout(); got != 60*time.Second {
		t.Errorf("b (default): %v", got)
	}
	findProblem(t, configProblems(t, "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    timeout: 0\n", nil), "mcp_servers.a.timeout: must be above 0 and at most 86400 seconds")
}

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
	cfg := mustParseConfig(t, src, map[string]string{"GH": "ghp_secret", "CS": "cs_secret"})
	gh := serverCredentials(&cfg.Servers[0])
	if gh.Scheme != credentials.SchemeBearer || !maps.Equal(gh.Auth, map[string]string{"Authorization": "Bearer ghp_secret"}) ||
		!maps.Equal(gh.Static, map[string]string{"X-Team": "a"}) || !slices.Equal(gh.Extra, []string{"X-Tenant"}) {
		t.Errorf("gh credentials = %+v", gh)
	}
	billing := cfg.Servers[1]
	if c := serverCredentials(&billing); c.Scheme != credentials.SchemeOAuth2 || c.Auth != nil || !billing.FetchesToken() {
		t.Errorf("billing credentials = %+v, fetches token %v", c, billing.FetchesToken())
	}
	if o := billing.OAuth2; o.TokenURL != "https://auth.example/token" || o.ClientID != "gw" || o.ClientSecret != "cs_secret" ||
		!slices.Equal(o.Scopes, []string{"mcp.read"}) || o.TokenEndpointAuthMethod != "client_secret_basic" {
		t.Errorf("billing oauth2 = %+v", o)
	}
	if c := serverCredentials(&cfg.Servers[2]); c.Scheme != credentials.SchemeNone || len(c.Gateway().Set) != 0 {
		t.Errorf("open credentials = %+v", c)
	}
	for _, p := range append(cfg.Unsupported, cfg.Ignored...) {
		t.Errorf("supported settings reported: %s", p)
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
	cfg := mustParseConfig(t, src, nil)
	if c := serverCredentials(&cfg.Servers[0]); !maps.Equal(c.Auth, map[string]string{"api-key": "k1"}) || c.AuthHeader != "api-key" {
		t.Errorf("azure credentials = %+v", c)
	}
	idp := serverCredentials(&cfg.Servers[1])
	if out := idp.Gateway(); !out.Token || out.TokenHeader != "x-upstream-token" {
		t.Errorf("idp gateway headers = %+v, want the token in x-upstream-token", out)
	}
	findProblem(t, cfg.Ignored, "mcp_servers.plain.auth_header_name: ignored: has no effect without auth_type")
	// The token's header is the gateway's to fill on a client_credentials
	// server: extra_headers naming it are reported, not silently dropped.
	findProblem(t, cfg.Ignored, "mcp_servers.idp.extra_headers[1]: ignored: the gateway sends this server its own OAuth2 token")
	findProblem(t, cfg.Ignored, "mcp_servers.m2m.extra_headers[0]: ignored: the gateway sends this server its own OAuth2 token")
	for _, p := range cfg.Ignored {
		if strings.Contains(p.String(), "idp.extra_headers[0]") {
			t.Errorf("X-Tenant is forwarded to idp, yet reported: %s", p)
		}
	}
}

// Settings the gateway acts on are not reported as unsupported.
func TestSupportedAreNotReported(t *testing.T) {
	src := "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    allowed_tools: [x]\n    disallowed_tools: [y]\n    access_groups: [dev]\n"
	cfg, err := configfile.Parse([]byte(src), "test.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Unsupported) != 0 {
		t.Fatalf("unexpected warnings: %v", cfg.Unsupported)
	}
	u := Upstreams(cfg)[0]
	if u.AllowedTools[0] != "x" || u.DisallowedTools[0] != "y" || u.AccessGroups[0] != "dev" {
		t.Fatalf("filters not carried to the upstream: %+v", u)
	}
}

func TestLiteLLMKeysUsed(t *testing.T) {
	src := `mcp_servers:
  wiki:
    url: https://wiki.example/mcp
    server_id: srv-wiki-1
    protocol_version: auto
    auth_type: api_key
    auth_value: k
    upstream_token_header: api-key
access:
  keys:
    - key_alias: ci
      key: sk-ci
      object_permission:
        mcp_servers: [srv-wiki-1]
        mcp_tool_permissions: {srv-wiki-1: [search]}
`
	cfg := mustParseConfig(t, src, nil)
	if len(cfg.Unsupported) != 0 {
		t.Errorf("Unsupported = %v", cfg.Unsupported)
	}
	s := cfg.Servers[0]
	if s.ServerID != "srv-wiki-1" || s.ProtocolVersion != config.ProtocolAuto || s.AuthHeaderName != "api-key" {
		t.Errorf("server = %+v", s)
	}
	if got := serverCredentials(&s).AuthHeader; got != "api-key" {
		t.Errorf("credential header = %q, want upstream_token_header's", got)
	}
	perm := cfg.Access.Keys[0].Permission
	if len(perm.MCPServers) != 1 || perm.MCPServers[0] != "wiki" || len(perm.MCPToolPermissions["wiki"]) != 1 {
		t.Errorf("server_id not resolved to the server in access lists: %+v", perm)
	}
	if cfg := mustParseConfig(t, "mcp_servers:\n  a:\n    url: https://x.example/mcp\n", nil); cfg.Servers[0].ProtocolVersion != config.ProtocolAuto {
		t.Errorf("default protocol_version = %q", cfg.Servers[0].ProtocolVersion)
	}
}

func TestAuthHeaders(t *testing.T) {
	tests := []struct {
		name   string
		server config.Server
		want   map[string]string
	}{
		{"none", config.Server{}, nil},
		{"auth_type none ignores auth_value", config.Server{AuthType: config.AuthNone, AuthValue: "x"}, nil},
		{"api_key", config.Server{AuthType: config.AuthAPIKey, AuthValue: "abc123"}, map[string]string{"X-API-Key": "abc123"}},
		{"bearer_token", config.Server{AuthType: config.AuthBearerToken, AuthValue: "abc123"}, map[string]string{"Authorization": "Bearer abc123"}},
		{"bearer_token already prefixed", config.Server{AuthType: config.AuthBearerToken, AuthValue: "bearer abc123"}, map[string]string{"Authorization": "Bearer abc123"}},
		{"bearer_token that only starts with the word", config.Server{AuthType: config.AuthBearerToken, AuthValue: "Bearerish"}, map[string]string{"Authorization": "Bearer Bearerish"}},
		{"basic encodes user:password", config.Server{AuthType: config.AuthBasic, AuthValue: "user:pass"}, map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}},
		{"basic keeps an encoded Basic value", config.Server{AuthType: config.AuthBasic, AuthValue: "Basic dXNlcjpwYXNz"}, map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}},
		{"basic encodes a schemed plain pair", config.Server{AuthType: config.AuthBasic, AuthValue: "Basic user:pass"}, map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}},
		{"authorization is verbatim", config.Server{AuthType: config.AuthAuthorization, AuthValue: "Token example123"}, map[string]string{"Authorization": "Token example123"}},
		{"token", config.Server{AuthType: config.AuthToken, AuthValue: "ghp_x"}, map[string]string{"Authorization": "token ghp_x"}},
		{"token already prefixed", config.Server{AuthType: config.AuthToken, AuthValue: "token ghp_x"}, map[string]string{"Authorization": "token ghp_x"}},
		{"oauth2 adds nothing", config.Server{AuthType: config.AuthOAuth2, AuthValue: "x"}, nil},
		{
			"static headers are added",
			config.Server{AuthType: config.AuthAPIKey, AuthValue: "k", StaticHeaders: map[string]string{"X-Team": "a"}},
			map[string]string{"X-API-Key": "k", "X-Team": "a"},
		},
		{
			"static headers win, ignoring case",
			config.Server{AuthType: config.AuthBearerToken, AuthValue: "k", StaticHeaders: map[string]string{"authorization": "Custom v"}},
			map[string]string{"authorization": "Custom v"},
		},
		{
			"values are trimmed",
			config.Server{AuthType: config.AuthAPIKey, AuthValue: " k ", StaticHeaders: map[string]string{"X-A": " v\t"}},
			map[string]string{"X-API-Key": "k", "X-A": "v"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := authHeaders(&tt.server); !maps.Equal(got, tt.want) {
				t.Errorf("AuthHeaders() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAuthHeadersFromConfig(t *testing.T) {
	src := `mcp_servers:
  basic_example:
    url: https://x.example/mcp
    auth_type: basic
    auth_value: os.environ/BASIC
`
	cfg := mustParseConfig(t, src, map[string]string{"BASIC": "user:pass"})
	want := map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}
	if got := authHeaders(&cfg.Servers[0]); !maps.Equal(got, want) {
		t.Errorf("AuthHeaders() = %v, want %v", got, want)
	}
}

func TestUpstreams(t *testing.T) {
	src := `litellm_settings:
  mcp_aliases:
    gh: github
mcp_servers:
  github:
    url: https://user:pw@api.githubcopilot.com/mcp?x=1
    auth_type: bearer_token
    auth_value: ghp_x
  wiki:
    url: https://mcp.deepwiki.com/sse
    transport: sse
    mcp_info:
      description: from mcp_info
  local:
    transport: stdio
    command: npx
  petstore:
    url: https://petstore.example/api
    spec_path: ./petstore.json
`
	cfg := mustParseConfig(t, src, nil)
	ups := Upstreams(cfg)
	if len(ups) != 4 {
		t.Fatalf("got %d upstreams, want 4", len(ups))
	}
	gh, wiki, local, pet := ups[0], ups[1], ups[2], ups[3]

	if gh.Alias != "gh" || gh.Cluster != upstreams.ClusterName("gh") || gh.Transport != upstreams.TransportHTTP {
		t.Errorf("github upstream = %+v", gh)
	}
	if gh.URL == nil || gh.URL.User != nil || gh.URL.Host != "api.githubcopilot.com" || gh.Path() != "/mcp?x=1" {
		t.Errorf("github URL = %v; want credentials dropped, path and query kept", gh.URL)
	}
	if !maps.Equal(gh.Credentials.Auth, map[string]string{"Authorization": "Bearer ghp_x"}) || gh.Credentials.Scheme != "bearer_token" {
		t.Errorf("github credentials = %+v", gh.Credentials)
	}
	// Adapted servers: no URL until the sidecar's endpoint is bound.
	if wiki.Transport != upstreams.TransportSSE || wiki.URL != nil || wiki.Description != "from mcp_info" ||
		wiki.Adapter == nil || wiki.Adapter.Kind != upstreams.AdapterSSE || wiki.Adapter.Source != "https://mcp.deepwiki.com/sse" {
		t.Errorf("wiki upstream = %+v", wiki)
	}
	if local.Transport != upstreams.TransportStdio || local.URL != nil || local.Cluster != "mcp_upstream_local" ||
		local.Adapter == nil || local.Adapter.Kind != upstreams.AdapterStdio || local.Adapter.Command != "npx" {
		t.Errorf("local upstream = %+v", local)
	}
	if pet.URL != nil || pet.Adapter == nil || pet.Adapter.Kind != upstreams.AdapterOpenAPI ||
		pet.Adapter.SpecPath != "./petstore.json" || pet.Adapter.Source != "https://petstore.example/api" {
		t.Errorf("petstore upstream = %+v", pet)
	}
	if host, port, err := gh.HostPort(); err != nil || host != "api.githubcopilot.com" || port != 443 {
		t.Errorf("HostPort = %s %d %v", host, port, err)
	}
}
