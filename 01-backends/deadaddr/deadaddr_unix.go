//go:build unix

package deadaddr

import (
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// hold binds a TCP socket to 127.0.0.1 on a port the kernel picks and does
// not listen on it. It does not set SO_REUSEADDR, so that binding the
// same port again fails for as long as the socket is open.
func hold() (addr string, release func(), err error) {
	// syscall.ForkLock keeps a concurrent fork (os/exec) from inheriting
	// the descriptor between Socket and CloseOnExec, as the net package does.
	syscall.ForkLock.RLock()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, syscall.IPPROTO_TCP)
	if err == nil {
		syscall.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return "", nil, fmt.Errorf("socket: %w", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		syscall.Close(fd)
		return "", nil, fmt.Errorf("bind 127.0.0.1:0: %w", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		return "", nil, fmt.Errorf("getsockname: %w", err)
	}
	in4, ok := sa.(*syscall.SockaddrInet4)
	if !ok {
		syscall.Close(fd)
		return "", nil, fmt.Errorf("getsockname: %T, not an IPv4 address", sa)
	}
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(in4.Port))
	return addr, func() { syscall.Close(fd) }, nil
}
