//go:build unix

package deadaddr

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
)

// hold binds a TCP socket to 127.0.0.1 on a port the kernel picks and does
// not listen on it. It does not set SO_REUSEADDR, so that binding the
// same port again fails for as long as the socket is open.
func hold() (addr string, s *held, err error) {
	addr, f, err := bindLoopback(nil)
	if err != nil {
		return "", nil, err
	}
	return addr, &held{f: f}, nil
}

// bindLoopback binds a TCP socket to 127.0.0.1 on a port the kernel
// picks, after setopt (if not nil) has set its options, and returns the
// address and the socket, which listens on nothing.
func bindLoopback(setopt func(fd int) error) (addr string, f *os.File, err error) {
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
	if setopt != nil {
		if err := setopt(fd); err != nil {
			syscall.Close(fd)
			return "", nil, fmt.Errorf("setsockopt: %w", err)
		}
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
	return addr, os.NewFile(uintptr(fd), "deadaddr "+addr), nil
}

// held is the bound socket. After listen it belongs to the listener, and
// release does nothing.
type held struct {
	mu sync.Mutex
	f  *os.File // nil once released or listening
}

func (s *held) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
}

// listen starts listening on the bound socket itself, so the port goes
// from refusing connections to accepting them with no moment in which it
// is free; from then on the socket is the listener's to close.
func (s *held) listen() (net.Listener, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil, errors.New("deadaddr: the address was already released or listened on")
	}
	if err := syscall.Listen(int(s.f.Fd()), syscall.SOMAXCONN); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	ln, err := net.FileListener(s.f) // a copy of the descriptor
	s.f.Close()
	s.f = nil
	return ln, err
}
