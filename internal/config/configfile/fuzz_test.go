package configfile_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/internal/gateway"
)

// fuzzSecret is what every environment variable holds during fuzzing; no
// message may contain it unless the input itself does.
const fuzzSecret = "SECRETVALUE"

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{
		"",
		"mcp_servers:\n  a:\n    url: https://x.example/mcp\n",
		"mcp_servers:\n  a: &x\n    url: os.environ/U\n  b:\n    <<: *x\n    auth_type: basic\n    auth_value: os.environ/V\n",
		"general_settings:\n  mcp_tool_prefix_separator: os.environ/S\ngateway:\n  port: os.environ/P\n",
		"litellm_settings:\n  mcp_aliases:\n    a: os.environ/A\nmcp_servers:\n  x:\n    transport: stdio\n    command: c\n",
		"mcp_servers:\n  a:\n    url: x\n    auth_type: os.environ/T\n    static_headers: {A: os.environ/H}\n",
		"a: [*b]\n",
		"mcp_servers: {a: {<<: [{url: 'http://h'}, 3]}}\n",
	} {
		f.Add([]byte(s))
	}
	env := func(string) (string, bool) { return fuzzSecret, true }
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := configfile.Parse(data, "fuzz.yaml", env)
		var all []config.Problem
		if err != nil {
			var ps config.Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error is %T, want Problems: %v", err, err)
			}
			if len(ps) == 0 || cfg != nil {
				t.Fatalf("failure must come with problems and no config")
			}
			all = ps
			_ = ps.Error()
		} else {
			for _, u := range gateway.Upstreams(cfg) {
				_, _, _ = u.HostPort()
				_ = u.Path()
			}
			all = append(append(all, cfg.Unsupported...), cfg.Ignored...)
		}
		for _, p := range all {
			if p.File != "fuzz.yaml" {
				t.Fatalf("problem has file %q", p.File)
			}
			if !strings.Contains(string(data), fuzzSecret) && strings.Contains(p.String(), fuzzSecret) {
				t.Fatalf("message shows an environment value: %s", p)
			}
		}
	})
}
