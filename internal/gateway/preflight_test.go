package gateway

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpgw/mcpgw/internal/config/configfile"
)

func TestPreflight(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	os.WriteFile(filepath.Join(bin, "mcp-server"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(bin, "not-executable"), []byte("x"), 0o644)
	other := filepath.Join(dir, "other")
	os.Mkdir(other, 0o755)
	os.WriteFile(filepath.Join(other, "own-server"), []byte("#!/bin/sh\n"), 0o755)
	spec := filepath.Join(dir, "petstore.yaml")
	os.WriteFile(spec, []byte("openapi: 3.0.0\n"), 0o644)
	resolver := func(_ context.Context, host string) ([]string, error) {
		switch host {
		case "api.example", "auth.example", "specs.example":
			return []string{"192.0.2.1"}, nil
		case "slow.example":
			return nil, &net.DNSError{Err: "i/o timeout", Name: host, IsTimeout: true}
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	env := HostEnv{LookupHost: resolver, LookupEnv: func(n string) (string, bool) {
		if n == "PATH" {
			return bin, true
		}
		return "", false
	}}

	tests := []struct {
		name    string
		servers string // mcp_servers entries
		want    []string
	}{
		{name: "all found", servers: `
  web:
    url: https://api.example/mcp
  local:
    url: http://127.0.0.1:4100/mcp
  v6:
    url: http://[::1]:4100/mcp
  pets:
    url: https://api.example/v3
    spec_path: ` + spec + `
  remote_spec:
    url: https://api.example/v3
    spec_path: https://specs.example/openapi.json
  tokens:
    url: https://api.example/mcp
    auth_type: oauth2
    oauth2_flow: client_credentials
    token_url: https://auth.example/token
    client_id: id
    client_secret: secret
  mem:
    transport: stdio
    command: mcp-server
  by_path:
    transport: stdio
    command: ` + filepath.Join(bin, "mcp-server") + `
  relative:
    transport: stdio
    command: ./own-server
    cwd: ` + other + `
  own_path:
    transport: stdio
    command: own-server
    env:
      PATH: ` + other + `
  legacy:
    transport: sse
    url: https://api.example/sse
`},
		{name: "unresolvable url host", servers: `
  web:
    url: https://nope.invalid/mcp
`, want: []string{`test.yaml:2: mcp_servers.web.url: host "nope.invalid" does not resolve on this machine (no such host); the server is unavailable until it does`}},
		{name: "legacy SSE server", servers: `
  legacy:
    transport: sse
    url: https://nope.invalid/sse
`, want: []string{`mcp_servers.legacy.url: host "nope.invalid" does not resolve`}},
		{name: "DNS without an answer", servers: `
  web:
    url: https://slow.example/mcp
`, want: []string{`mcp_servers.web.url: host "slow.example" does not resolve on this machine (no answer within 5s)`}},
		{name: "missing spec file", servers: `
  pets:
    url: https://api.example/v3
    spec_path: ./missing-petstore.yaml
`, want: []string{`test.yaml:2: mcp_servers.pets.spec_path: ./missing-petstore.yaml cannot be read: no such file or directory (relative to the working directory `}},
		{name: "spec URL and base URL unresolvable", servers: `
  pets:
    url: https://api.invalid/v3
    spec_path: https://specs.invalid/openapi.json
`, want: []string{`mcp_servers.pets.url: host "api.invalid"`, `mcp_servers.pets.spec_path: host "specs.invalid"`}},
		{name: "unresolvable token endpoint", servers: `
  tokens:
    url: https://api.example/mcp
    auth_type: oauth2
    oauth2_flow: client_credentials
    token_url: https://auth.invalid/token
    client_id: id
    client_secret: secret
`, want: []string{`mcp_servers.tokens.token_url: host "auth.invalid" does not resolve`}},
		{name: "stdio command not on PATH", servers: `
  mem:
    transport: stdio
    command: no-such-server
    url: https://nope.invalid/ignored
`, want: []string{`test.yaml:2: mcp_servers.mem.command: command "no-such-server" not found in PATH on this machine; the server is unavailable until it is`}},
		{name: "stdio command not executable", servers: `
  mem:
    transport: stdio
    command: ` + filepath.Join(bin, "not-executable") + `
`, want: []string{`mcp_servers.mem.command: command "` + filepath.Join(bin, "not-executable") + `": not executable`}},
		{name: "relative command in another directory", servers: `
  relative:
    transport: stdio
    command: ./own-server
`, want: []string{`mcp_servers.relative.command: command "./own-server": no such file`}},
		{name: "in file order", servers: `
  b:
    url: https://b.invalid/mcp
  a:
    transport: stdio
    command: no-such-server
`, want: []string{`test.yaml:2: mcp_servers.b.url`, `test.yaml:4: mcp_servers.a.command`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := configfile.Parse([]byte("mcp_servers:"+tt.servers), "test.yaml", func(string) (string, bool) { return "", false })
			if err != nil {
				t.Fatal(err)
			}
			cfg.Path = "test.yaml"
			got := Preflight(context.Background(), cfg, env)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d findings, want %d: %v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i].String(), w) {
					t.Errorf("finding %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}
