//go:build unix

package direct

import (
	"net"
	"syscall"
	"testing"
)

// waitForEOF waits, without a sleep, until every idle connection of tr
// has received its end-of-file: the backend's close has arrived.
func waitForEOF(t *testing.T, tr *Transport) {
	t.Helper()
	for _, nc := range tr.idleConns() {
		raw, err := nc.(syscall.Conn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var b [1]byte
		raw.Read(func(fd uintptr) bool {
			n, _, _ := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			return n >= 0 // readable (EOF is 0): done; else wait
		})
	}
}

// waitReadable waits, without a sleep, until c has a byte or an
// end-of-file to read.
func waitReadable(t *testing.T, c net.Conn) {
	t.Helper()
	raw, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	raw.Read(func(fd uintptr) bool {
		n, _, _ := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return n >= 0
	})
}
