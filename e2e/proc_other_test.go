//go:build !linux

package e2e

import "os/exec"

// configureChild does nothing where there is no parent-death signal;
// children are stopped by the tests' cleanups.
func configureChild(*exec.Cmd) {}
