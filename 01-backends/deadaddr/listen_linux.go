package deadaddr

import (
	"context"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// listenHeld binds a socket with SO_REUSEPORT to a port the kernel picks,
// which holds the port and never listens, and listens on the same port
// with a second socket with SO_REUSEPORT. Linux lets sockets share a port
// this way only if every one of them set SO_REUSEPORT before binding and
// all belong to one user (socket(7)): net.Listen's, which sets only
// SO_REUSEADDR, gets EADDRINUSE whether the listener is open or not, and
// a request for port 0 is never given a port in use. Linux hands a
// connection only to a listening socket (a bound one that does not
// listen is not among those it looks up), so while the listener is open
// it gets every connection, and once it is closed a connection finds none
// and is refused, as New's are.
func listenHeld() (net.Listener, func(), error) {
	addr, holder, err := bindLoopback(reusePort)
	if err != nil {
		return nil, nil, err
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = reusePort(int(fd)) }); err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(context.Background(), "tcp4", addr)
	if err != nil {
		holder.Close()
		return nil, nil, fmt.Errorf("listen on the held port: %w", err)
	}
	return ln, func() { holder.Close() }, nil
}

func reusePort(fd int) error {
	return syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, unix.SO_REUSEPORT, 1)
}
