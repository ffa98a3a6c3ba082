package stdio

import "syscall"

// setDeathSignal makes the kernel kill the child if the gateway dies
// without stopping it (SIGKILL, crash).
func setDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
