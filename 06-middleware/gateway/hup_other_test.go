//go:build unix && !linux

package gateway

import (
	"os"
	"syscall"
)

// hupSelf sends SIGHUP to the process. Without Linux's tgkill the signal
// may be handled a little after Kill returns (see hup_linux_test.go).
func hupSelf() error { return syscall.Kill(os.Getpid(), syscall.SIGHUP) }
