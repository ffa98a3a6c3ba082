package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// `make run` starts the demo server only for the default config.yaml (its
// upstream) and passes -port only when PORT is given, so another config's
// gateway.port and servers are its own. It used to start the demo server
// and force port 4000 for any CONFIG.
func TestMakeRun(t *testing.T) {
	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Skip("no make")
	}
	for _, tc := range []struct {
		name     string
		vars     []string
		want     []string
		wantNone []string
	}{
		{"default config", nil, []string{"run -config config.yaml", "-demo 127.0.0.1:4100"}, []string{"-port"}},
		{"default config by another path", []string{"CONFIG=./config.yaml"}, []string{"-demo 127.0.0.1:4100"}, nil},
		{"another config", []string{"CONFIG=deploy/compose/config.yaml"}, []string{"run -config deploy/compose/config.yaml"}, []string{"-demo", "-port"}},
		{"another config with the demo asked for", []string{"CONFIG=my.yaml", "DEMO_ADDR=127.0.0.1:5000"}, []string{"-demo 127.0.0.1:5000"}, nil},
		{"port given", []string{"PORT=8080"}, []string{"-port 8080"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// -n prints the recipes without running them.
			cmd := exec.Command(makeBin, append([]string{"-n", "-C", "../..", "run"}, tc.vars...)...)
			// The Makefile's variables come from the command line only.
			cmd.Env = slices.DeleteFunc(cmd.Environ(), func(kv string) bool {
				name, _, _ := strings.Cut(kv, "=")
				return name == "PORT" || name == "DEMO_ADDR" || name == "CONFIG"
			})
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("make -n run: %v\n%s", err, out)
			}
			var line string
			for l := range strings.Lines(string(out)) {
				if strings.Contains(l, "bin/mcpgw run ") {
					line = l
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("%q lacks %q", line, w)
				}
			}
			for _, w := range tc.wantNone {
				if strings.Contains(line, w) {
					t.Errorf("%q has %q", line, w)
				}
			}
		})
	}
}
