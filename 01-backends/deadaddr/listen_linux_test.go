package deadaddr_test

import (
	"net"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/deadaddr"
)

// notListenable fails the test if another listener, as any other test
// would open one, can have addr's port.
func notListenable(t *testing.T, addr, when string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		ln.Close()
		t.Fatalf("net.Listen(%q) succeeded %s: the port was free for another test's server", addr, when)
	}
	assert.ErrorIs(t, err, syscall.EADDRINUSE, when)
}

// A closed listener's port stays taken while the test runs, so its
// address goes on refusing connections while other tests run alongside.
// (Only on Linux: elsewhere the fallback frees the port.)
func TestListenHoldsThePortAfterClose(t *testing.T) {
	for range 20 {
		ln := deadaddr.Listen(t)
		addr := ln.Addr().String()
		notListenable(t, addr, "while the listener is open")
		require.NoError(t, ln.Close())
		notListenable(t, addr, "after the listener closed")
	}
}

// The same for a server's Close, which closes its listener.
func TestNewServerHoldsThePortAfterClose(t *testing.T) {
	srv := deadaddr.NewServer(t, nil)
	srv.Close()
	notListenable(t, srv.Listener.Addr().String(), "after the server closed")
}

// A reserved port is shared only with sockets that set SO_REUSEADDR and
// do not listen: one that does not set it (and a request for port 0,
// which the kernel only answers with a port no socket is bound to)
// cannot have it. The old way, a port noted and let go, fails this.
func TestReserveHoldsThePort(t *testing.T) {
	for range 20 {
		addr := deadaddr.Reserve(t)
		ap, err := net.ResolveTCPAddr("tcp4", addr)
		require.NoError(t, err)
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, syscall.IPPROTO_TCP)
		require.NoError(t, err)
		err = syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: ap.Port})
		syscall.Close(fd)
		require.Error(t, err, "a socket without SO_REUSEADDR was bound to the reserved %s", addr)
		assert.ErrorIs(t, err, syscall.EADDRINUSE)
	}
}
