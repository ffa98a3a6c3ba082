package envoy

import (
	"os/exec"
	"syscall"
)

// dieWithParent kills the child if the test binary dies first, so a
// crashed or killed test run leaves no Envoy behind.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
