//go:build linux

package e2e

import (
	"os/exec"
	"syscall"
)

// configureChild makes the kernel kill the child if the test binary dies
// (a panic or a `go test` timeout), so no server outlives the test.
func configureChild(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
