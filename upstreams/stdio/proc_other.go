//go:build !unix

package stdio

import (
	"os"
	"os/exec"
	"syscall"
)

func isolate(*exec.Cmd) {}

// signalGroup kills the child only: there are no process groups here.
func signalGroup(pid int, _ syscall.Signal) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}

const (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
)
