package router

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDecisionCoreDependencies keeps the decision core (router, policy,
// namespace, rpc, identity) free of the config file reader and of go-sdk:
// what decides a request is plain Go over plain data
// (docs/architecture.md, Packages). OPA brings its own YAML library
// (go.yaml.in/yaml/v3) into policy and the router; that one is OPA's, so
// only ours, gopkg.in/yaml.v3, is forbidden.
func TestDecisionCoreDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, tc := range []struct {
		pkg       string
		forbidden []string
	}{
		{"github.com/mcpgw/mcpgw/extproc/router", []string{"github.com/modelcontextprotocol/go-sdk", "gopkg.in/yaml.v3", "github.com/mcpgw/mcpgw/internal/config/configfile"}},
		{"github.com/mcpgw/mcpgw/policy", []string{"github.com/modelcontextprotocol/go-sdk", "gopkg.in/yaml.v3", "github.com/mcpgw/mcpgw/internal/config/configfile"}},
		{"github.com/mcpgw/mcpgw/extproc/rpc", []string{"github.com/modelcontextprotocol/go-sdk", "gopkg.in/yaml.v3"}},
		{"github.com/mcpgw/mcpgw/extproc/namespace", []string{"github.com/modelcontextprotocol/go-sdk", "gopkg.in/yaml.v3"}},
		{"github.com/mcpgw/mcpgw/policy/identity", []string{"github.com/modelcontextprotocol/go-sdk", "gopkg.in/yaml.v3"}},
		{"github.com/mcpgw/mcpgw/internal/clientsession", []string{"github.com/modelcontextprotocol/go-sdk", "gopkg.in/yaml.v3"}},
	} {
		out, err := exec.Command("go", "list", "-deps", tc.pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", tc.pkg, err, out)
		}
		for dep := range strings.SplitSeq(string(out), "\n") {
			for _, f := range tc.forbidden {
				if dep == f || strings.HasPrefix(dep, f+"/") {
					t.Errorf("%s depends on %s", tc.pkg, dep)
				}
			}
		}
	}
}
