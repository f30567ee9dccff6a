//go:build linux

package gateway

import (
	"os"
	"runtime"
	"syscall"
)

// hupSelf sends SIGHUP to the calling thread rather than to the process:
// the kernel delivers a signal sent to the current thread as the system
// call returns, so when hupSelf returns the signal has been handled,
// caught (queued for signal.Notify) or fatal. Sent to the process with
// kill, it goes to the main thread, which on a busy machine may take it
// only later: after Run has returned and stopped catching SIGHUP, when
// its default action kills the test binary ("signal: hangup", seen in
// full runs of the package under -race).
func hupSelf() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return syscall.Tgkill(os.Getpid(), syscall.Gettid(), syscall.SIGHUP)
}
