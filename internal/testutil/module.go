package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// ModuleFile is the file name of the gateway's Envoy dynamic module
// (envoy/module), as make build and mcpgw run name it.
const ModuleFile = "libmcpgw_fast_path.so"

var module struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// FastPathModule builds the gateway's Envoy dynamic module once per test
// binary and returns its path ($MCPGW_FAST_PATH_MODULE, when set, names
// one built already). It needs cgo and a C compiler: without them the
// test fails, naming what is missing.
func FastPathModule(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("MCPGW_FAST_PATH_MODULE"); p != "" {
		return p
	}
	module.once.Do(func() {
		// One file for every test binary, replaced whole (test binaries
		// run at once build it side by side, then rename): nothing is
		// left behind but the last build.
		dir := filepath.Join(os.TempDir(), "mcpgw-test-module")
		if module.err = os.MkdirAll(dir, 0o755); module.err != nil {
			return
		}
		tmp, err := os.MkdirTemp(dir, "build-")
		if err != nil {
			module.err = err
			return
		}
		defer os.RemoveAll(tmp)
		built := filepath.Join(tmp, ModuleFile)
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", built, "github.com/mcpgw/mcpgw/envoy/module")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if module.out, module.err = cmd.CombinedOutput(); module.err != nil {
			return
		}
		module.path = filepath.Join(dir, ModuleFile)
		module.err = os.Rename(built, module.path)
	})
	if module.err != nil {
		t.Fatalf("building the fast path module (needs cgo and a C compiler): %v\n%s", module.err, module.out)
	}
	return module.path
}
