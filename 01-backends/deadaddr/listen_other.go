//go:build !linux

package deadaddr

import "net"

// listenHeld falls back to net.Listen on systems other than Linux. The
// BSDs and macOS let sockets that all set SO_REUSEPORT share a port too,
// but the course has not checked that they hand a connection to the
// listening socket rather than to the bound one that holds the port (a
// connection it got would be refused while the server is up), and Windows
// and illumos have no SO_REUSEPORT. Once the listener is closed its port
// is free, and another listener can be given it before the test dials.
func listenHeld() (net.Listener, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	return ln, func() {}, err
}
