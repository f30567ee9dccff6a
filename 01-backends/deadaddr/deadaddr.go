// Package deadaddr gives tests an address on which a connection is
// refused at once: the stand-in for a backend that is down.
//
// The easy way to make one, listening on 127.0.0.1:0, noting the address
// and closing the listener, is racy: between the close and the test's
// dial the port is free, and any other listener on the machine (another
// test binary, since go test runs packages in parallel) can be given it.
// The test then reaches a live server where it expected a refusal: a
// 404 where it wanted a 502.
//
// New keeps the port for the test's lifetime instead. On Unix it binds a
// TCP socket and never listens on it: a connection to a port that is
// bound but not listening is refused (the kernel answers the SYN with a
// RST, so the dialer sees ECONNREFUSED, "connection refused"), and since
// the socket is bound without SO_REUSEADDR, no other socket can bind that
// port while it is open, so the kernel hands other listeners other ports.
//
// The same race follows a simulated crash: a test server taken down by
// closing its listener frees its port, while a client, a gateway or a
// metadata server may still dial its address. Listen and NewServer give a
// test server whose port stays held after it is closed, so that its
// address refuses connections, as New's does. Reserve gives an address a
// test can listen on, close and listen on again, with the port kept from
// other tests in between.
package deadaddr

import "net"

// TB is what the package needs from a test: *testing.T, *testing.B and
// testing.TB have it, and so does a stand-in for code that runs outside a
// test function (07's storetest.Standalone, for Example functions).
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// New returns a "127.0.0.1:port" address on which connections are refused
// until t and its subtests finish. See the package comment for why it
// holds the port instead of freeing it.
func New(t TB) string {
	t.Helper()
	addr, _ := Revivable(t)
	return addr
}

// Revivable returns a dead address like New, and a function that brings it
// to life: a listener on the same port, for a test of a backend that comes
// back. On Unix the held socket itself starts listening, so the port is
// never free for another listener to take; listen can be called once, and
// the listener is then the caller's to close.
func Revivable(t TB) (addr string, listen func() (net.Listener, error)) {
	t.Helper()
	addr, s, err := hold()
	if err != nil {
		t.Fatalf("deadaddr: %v", err)
	}
	t.Cleanup(s.release)
	return addr, s.listen
}

// URL returns "http://" and an address from New.
func URL(t TB) string {
	t.Helper()
	return "http://" + New(t)
}
