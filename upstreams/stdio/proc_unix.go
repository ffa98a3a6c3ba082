//go:build unix

package stdio

import (
	"os/exec"
	"syscall"
)

// isolate puts the child in a process group of its own, so signals can
// reach its whole tree and a terminal's Ctrl-C reaches only the gateway,
// which then stops its children in order.
func isolate(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	setDeathSignal(cmd.SysProcAttr)
}

// signalGroup sends sig to the child's process group (its pid, given
// Setpgid). Errors are ignored: the group may be gone already.
func signalGroup(pid int, sig syscall.Signal) {
	if pid > 0 {
		_ = syscall.Kill(-pid, sig)
	}
}

const (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
)
