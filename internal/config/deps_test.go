package config

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPlainData keeps config plain data: it imports the standard library
// only, so neither the YAML reader (package configfile) nor the runtime
// values the wiring builds from it (package upstreams) come with it.
func TestPlainData(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	const self = "github.com/mcpgw/mcpgw/internal/config"
	out, err := exec.Command("go", "list", "-deps", self).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", self, err, out)
	}
	for dep := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		switch first, _, _ := strings.Cut(dep, "/"); {
		case dep == self:
		case strings.Contains(dep, "yaml"), strings.HasPrefix(dep, "github.com/mcpgw/mcpgw/upstreams"):
			t.Errorf("config depends on %s", dep)
		case strings.Contains(first, "."):
			t.Errorf("config depends on %s, which is not the standard library", dep)
		}
	}
}
