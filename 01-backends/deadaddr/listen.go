package deadaddr

import (
	"net"
	"net/http"
	"net/http/httptest"
)

// Listen returns a listener on 127.0.0.1 for a server that a test takes
// down, to simulate a crash: once the listener is closed (by itself, or
// by closing the server on it), its address refuses connections at once,
// as an address from New does, until t and its subtests finish.
//
// Closing a listener from net.Listen instead frees its port, and a client
// (a gateway, a metadata server) still holding the address may reach
// whatever server of another test the kernel gave the port to since: the
// race the package comment describes, after a crash instead of before.
// On Linux Listen binds a socket with SO_REUSEPORT that holds the port
// and never listens, then listens on the same port with a second such
// socket; closing the listener leaves the holder, on which the kernel
// refuses connections, and which no socket without SO_REUSEPORT
// (net.Listen's) can share. Elsewhere it is net.Listen's listener, and
// its port is free after Close (see listen_other.go).
func Listen(t TB) net.Listener {
	t.Helper()
	ln, release, err := listenHeld()
	if err != nil {
		t.Fatalf("deadaddr: %v", err)
	}
	t.Cleanup(release)
	return ln
}

// NewServer is httptest.NewServer on a listener from Listen: a test
// server whose Close (or Listener.Close, which leaves open connections
// alone) leaves an address that refuses connections. The server is the
// caller's to close, as httptest's are.
func NewServer(t TB, h http.Handler) *httptest.Server {
	t.Helper()
	s := NewUnstartedServer(t, h)
	s.Start()
	return s
}

// NewUnstartedServer is httptest.NewUnstartedServer on a listener from
// Listen, for a test that sets the server's Config before Start.
func NewUnstartedServer(t TB, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	s.Listener.Close() // httptest's own, never used
	s.Listener = Listen(t)
	return s
}
