// Package leaktest finds what a program run in-process left behind once
// it stopped: goroutines still running the course's code, and more open
// file descriptors (files, sockets, listeners) than before it started.
// The leak tests of the 06 gateway and of the 07 store share it.
//
// Run such a test with the garbage collector off
// (debug.SetGCPercent(-1)): a file or connection left open and dropped
// is closed by its finalizer at a collection, and would not be counted,
// though a program that runs on keeps it open until then.
package leaktest

import (
	"bytes"
	"net"
	"os"
	"runtime"
	"time"
)

// Timeout bounds every wait: a goroutine ends, and a connection closes, a
// little after what ended it. It bounds a test that would fail, not a
// timing.
const Timeout = 10 * time.Second

// Goroutines returns the stacks of the goroutines that run the course's
// code or a program's package main, but for the testing package's own
// (the tests', and the one that runs them), reading them into *buf, which
// it grows when they do not fit.
func Goroutines(buf *[]byte) []string {
	for {
		n := runtime.Stack((*buf)[:cap(*buf)], true)
		if n < cap(*buf) {
			*buf = (*buf)[:n]
			break
		}
		*buf = make([]byte, max(2*cap(*buf), 1<<20))
	}
	var ours []string
	for g := range bytes.SplitSeq(*buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("testing.tRunner(")) || bytes.Contains(g, []byte("testing.(*M).")) {
			continue
		}
		if bytes.Contains(g, []byte("github.com/gocourse/gateway/")) || bytes.Contains(g, []byte("\nmain.")) {
			ours = append(ours, string(g))
		}
	}
	return ours
}

// RemainingGoroutines waits, for Timeout at most, until no goroutine runs
// the course's code (Goroutines), and returns the stacks of those that
// still do.
func RemainingGoroutines() []string {
	var left []string
	buf := make([]byte, 1<<20) // one for every poll: the test runs with no garbage collection
	WaitFor(func() bool { left = Goroutines(&buf); return len(left) == 0 })
	return left
}

// WaitFor polls cond until it holds or Timeout passes.
func WaitFor(cond func() bool) {
	deadline := time.Now().Add(Timeout)
	for !cond() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
}

// OpenFiles counts the process's open file descriptors (files, sockets,
// listeners), or returns -1 where the system does not list them. The
// network poller's descriptors are opened first, so that they do not
// count as the program's.
func OpenFiles() int {
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
	}
	for _, dir := range []string{"/proc/self/fd", "/dev/fd"} {
		if es, err := os.ReadDir(dir); err == nil {
			return len(es)
		}
	}
	return -1
}
