package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func runCmd(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func TestValidate(t *testing.T) {
	t.Setenv("MCPGW_SESSION_SECRET", strings.Repeat("s", 32)) // the compose config's
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("mcp_servers:\n  github:\n    url: https://example.com/mcp\n    auth_type: bearer_tokn\n    alowed_tools: [a]\n"), 0o600)

	tests := []struct {
		name       string
		args       []string
		code       int
		wantStdout string
		wantStderr []string
	}{
		{"shipped config", []string{"validate", "../../config.yaml"}, 0, "ok (1 MCP servers)", nil},
		{"compose config", []string{"validate", "../../deploy/compose/config.yaml"}, 0, "ok", nil},
		{"bad config", []string{"validate", bad}, 1, "", []string{
			"bad.yaml:4: mcp_servers.github.auth_type", `did you mean "bearer_token"`,
			"bad.yaml:5: mcp_servers.github.alowed_tools: unknown key", `did you mean "allowed_tools"`,
			"2 problem(s)"}},
		{"missing file", []string{"validate", filepath.Join(dir, "nope.yaml")}, 1, "", []string{"nope.yaml"}},
		{"no file", []string{"validate"}, 1, "", []string{"usage: mcpgw validate FILE"}},
		{"unknown command", []string{"serve"}, 2, "", []string{`unknown command "serve"`}},
	}
	t.Setenv("LITELLM_MASTER_KEY", "sk-make-run") // make run passes one
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(tt.args...)
			if code != tt.code || !strings.Contains(out, tt.wantStdout) {
				t.Fatalf("exit %d stdout %q stderr %q", code, out, errOut)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
		})
	}
}

// TestEnvoyConfigForCompose renders the bootstrap docker-compose.yml uses
// (components reached by host name) and validates it with real Envoy.
func TestEnvoyConfigForCompose(t *testing.T) {
	t.Setenv("MCPGW_SESSION_SECRET", strings.Repeat("s", 32))
	out := filepath.Join(t.TempDir(), "envoy.yaml")
	staticOut := filepath.Join(t.TempDir(), "static.yaml")
	code, _, errOut := runCmd("envoy-config", "-config", "../../deploy/compose/config.yaml",
		"-extproc", "extproc:9002", "-sidecar", "sidecar:9003", "-xds", "extproc:9004", "-o", out)
	if code != 0 {
		t.Fatalf("envoy-config: %s", errOut)
	}
	// Without -xds everything is in the bootstrap, as before.
	code, _, errOut = runCmd("envoy-config", "-config", "../../deploy/compose/config.yaml",
		"-extproc", "extproc:9002", "-sidecar", "sidecar:9003", "-o", staticOut)
	if code != 0 {
		t.Fatalf("envoy-config: %s", errOut)
	}
	for path, want := range map[string][]string{
		out:       {"api_type: DELTA_GRPC", "cluster_name: mcpgw_xds", "route_config_name: mcpgw"},
		staticOut: {"name: mcp_upstream_demo", "route_config:"},
	} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s lacks %q", filepath.Base(path), w)
			}
		}
	}
	bin := os.Getenv("ENVOY_BIN")
	if bin == "" {
		if os.Getenv("MCPGW_REQUIRE_ENVOY") == "1" {
			t.Fatal("ENVOY_BIN is not set")
		}
		t.Skip("ENVOY_BIN is not set; run through make test")
	}
	for _, path := range []string{out, staticOut} {
		if b, err := exec.Command(bin, "--mode", "validate", "-c", path, "--disable-hot-restart").CombinedOutput(); err != nil {
			t.Fatalf("envoy rejected the compose bootstrap %s: %v\n%s", filepath.Base(path), err, b)
		}
	}
}

// The client config printed by `mcpgw run` carries the key header exactly
// when keys are configured, and never a key.
func TestBannerClientConfig(t *testing.T) {
	for _, tc := range []struct {
		name, cfg string
		header    bool
		url       string
	}{
		{"open gateway", "mcp_servers:\n  demo:\n    url: http://127.0.0.1:4100/mcp\n", false, "http://localhost:4000/mcp"},
		{"with a master key", "mcp_servers:\n  demo:\n    url: http://127.0.0.1:4100/mcp\ngeneral_settings:\n  master_key: sk-very-secret\n", true, "http://localhost:4000/mcp"},
		{"bound to one address", "mcp_servers:\n  demo:\n    url: http://127.0.0.1:4100/mcp\ngateway:\n  bind_address: 10.1.2.3\n", false, "http://10.1.2.3:4000/mcp"},
		{"bound to IPv6", "mcp_servers:\n  demo:\n    url: http://127.0.0.1:4100/mcp\ngateway:\n  bind_address: \"::\"\n", false, "http://[::1]:4000/mcp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(path, []byte(tc.cfg), 0o600)
			rt, err := loadRuntime(path, newLogger(io.Discard, "error"))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			printBanner(&out, rt, 4000, "127.0.0.1:9090")
			s := out.String()
			if !strings.Contains(s, `"url": "`+tc.url+`"`) || strings.Contains(s, "sk-very-secret") {
				t.Fatalf("banner:\n%s", s)
			}
			if got := strings.Contains(s, `"x-litellm-api-key": "Bearer <your gateway key>"`); got != tc.header {
				t.Fatalf("key header shown=%v, want %v:\n%s", got, tc.header, s)
			}
		})
	}
}

// validate reports, as warnings naming the server and field, what `mcpgw
// run` would log as errors: an unresolvable host, a missing spec_path
// file, a stdio command not on PATH (gateway.Preflight). It used to say
// "ok" and nothing else.
func TestValidateWarnsAboutThisMachine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "unavailable.yaml")
	spec := filepath.Join(dir, "missing-petstore.yaml")
	os.WriteFile(path, []byte(`mcp_servers:
  remote:
    url: https://mcp.no-such-host.invalid/mcp
  pets:
    url: http://127.0.0.1:9/api
    spec_path: `+spec+`
  local:
    transport: stdio
    command: no-such-mcp-server-command
`), 0o600)
	code, out, errOut := runCmd("validate", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		`warning: ` + path + `:2: mcp_servers.remote.url: host "mcp.no-such-host.invalid" does not resolve on this machine`,
		`warning: ` + path + `:4: mcp_servers.pets.spec_path: ` + spec + ` cannot be read: no such file or directory`,
		`warning: ` + path + `:7: mcp_servers.local.command: command "no-such-mcp-server-command" not found in PATH on this machine`,
		"ok (3 MCP servers)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
}
