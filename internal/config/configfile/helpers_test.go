package configfile

import (
	"errors"
	"strings"
	"testing"

	"github.com/mcpgw/mcpgw/internal/config"
)

// envOf returns a LookupEnv backed by m.
func envOf(m map[string]string) LookupEnv {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// mustParse parses src as "test.yaml" and fails the test on any problem.
func mustParse(t *testing.T, src string, env map[string]string) *config.Config {
	t.Helper()
	cfg, err := Parse([]byte(src), "test.yaml", envOf(env))
	if err != nil {
		t.Fatalf("Parse: unexpected problems:\n%v", err)
	}
	return cfg
}

// problemsOf parses src and returns its problems, failing the test when
// parsing succeeds or the error is not a Problems value.
func problemsOf(t *testing.T, src string, env map[string]string) config.Problems {
	t.Helper()
	cfg, err := Parse([]byte(src), "test.yaml", envOf(env))
	if err == nil {
		t.Fatalf("Parse succeeded, want problems; config: %+v", cfg)
	}
	if cfg != nil {
		t.Errorf("Parse returned a config along with an error")
	}
	var ps config.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error is %T, want Problems: %v", err, err)
	}
	return ps
}

// findLine returns the problem whose String() contains want, or fails.
func findLine(t *testing.T, list []config.Problem, want string) config.Problem {
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

// assertNoLeak fails if any problem mentions secret.
func assertNoLeak(t *testing.T, list []config.Problem, secret string) {
	t.Helper()
	for _, p := range list {
		if strings.Contains(p.String(), secret) {
			t.Errorf("message leaks a secret: %s", p)
		}
	}
}
