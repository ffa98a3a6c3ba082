package config

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/upstreams"
)

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
	cfg := mustParse(t, src, map[string]string{"MEM_TOKEN": "s3cret"})
	// Only the credentials in legacy's URL are reported (and dropped).
	if len(cfg.Unsupported) != 1 || !strings.Contains(cfg.Unsupported[0].String(), "mcp_servers.legacy.url: not supported yet") {
		t.Fatalf("warnings = %v", cfg.Unsupported)
	}
	ups := cfg.Upstreams()
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
	cfg := mustParse(t, "mcp_servers:\n  a:\n    transport: stdio\n    command: srv\n", nil)
	a := cfg.Upstreams()[0].Adapter
	if a.SessionMode != upstreams.SessionShared || a.Startup != upstreams.StartupLazy || a.IdleTimeout != 0 || a.MaxProcesses != 0 {
		t.Errorf("defaults = %+v", a)
	}
}

func TestAdaptedErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"bad session mode", "mcp_servers:\n  a:\n    transport: stdio\n    command: x\n    session_mode: per_user\n",
			`mcp_servers.a.session_mode: unknown value "per_user" (want one of shared, per_session)`},
		{"bad startup", "mcp_servers:\n  a:\n    transport: stdio\n    command: x\n    startup: now\n",
			`mcp_servers.a.startup: unknown value "now" (want one of lazy, eager)`},
		{"idle timeout", "mcp_servers:\n  a:\n    transport: stdio\n    command: x\n    idle_timeout: -1\n",
			`mcp_servers.a.idle_timeout: must be between 0 and 604800 seconds`},
		{"process cap", "mcp_servers:\n  a:\n    transport: stdio\n    command: x\n    max_processes: 0\n",
			`mcp_servers.a.max_processes: must be between 1 and 4096`},
		{"spec url", "mcp_servers:\n  a:\n    spec_path: ftp://x/spec.json\n",
			`mcp_servers.a.spec_path: must be an absolute http:// or https:// URL`},
		{"spec with stdio", "mcp_servers:\n  a:\n    transport: stdio\n    command: x\n    spec_path: s.json\n",
			`mcp_servers.a.spec_path: cannot be combined with transport stdio`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src), "test.yaml", nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

// The stdio supervision keys mean nothing to other servers: noted, as the
// other stdio keys are.
func TestStdioKeysOnHTTPServer(t *testing.T) {
	cfg := mustParse(t, "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    session_mode: per_session\n", nil)
	findLine(t, cfg.Ignored, "mcp_servers.a.session_mode: ignored: only used with transport stdio")
}

// timeout applies to every server now: LiteLLM's per-server call
// deadline, in seconds (fractions allowed).
func TestServerTimeout(t *testing.T) {
	cfg := mustParse(t, "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    timeout: 2.5\n  b:\n    url: https://y.example/mcp\n", nil)
	if len(cfg.Unsupported) != 0 || len(cfg.Ignored) != 0 {
		t.Fatalf("timeout reported: %v %v", cfg.Unsupported, cfg.Ignored)
	}
	ups := cfg.Upstreams()
	if got := ups[0].CallTimeout(); got != 2500*time.Millisecond {
		t.Errorf("a: %v", got)
	}
	if got := ups[1].CallTimeout(); got != 60*time.Second {
		t.Errorf("b (default): %v", got)
	}
	findLine(t, problemsOf(t, "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    timeout: 0\n", nil), "mcp_servers.a.timeout: must be above 0 and at most 86400 seconds")
}
