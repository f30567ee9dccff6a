//go:build unix

package direct

import (
	"errors"
	"net"
	"syscall"
)

// canPeek says that peeker can look at a socket here (see alive_other.go).
const canPeek = true

// peeker looks at an idle connection's socket without waiting and without
// taking anything. It is made once per connection, with the function it
// hands to RawConn.Read, so that a peek allocates nothing.
type peeker struct {
	raw  syscall.RawConn // nil when the connection shows no socket (blind)
	open bool
	b    [1]byte
	peek func(fd uintptr) bool
}

func newPeeker(nc net.Conn) *peeker {
	p := &peeker{}
	if sc, ok := nc.(syscall.Conn); ok {
		p.raw, _ = sc.SyscallConn()
	}
	p.peek = func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), p.b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		p.open = n < 0 && errors.Is(err, syscall.EAGAIN)
		return true // done: never wait for the socket to become readable
	}
	return p
}

// alive reports whether the idle connection is still open and silent: the
// peek finds no end-of-file (the backend closed it) and no byte (nothing
// may arrive on an idle connection). It costs one system call per reused
// connection, which no measurement on the course machine could tell apart
// from noise.
func (p *peeker) alive() bool {
	if p.raw == nil {
		return false
	}
	p.open = false
	err := p.raw.Read(p.peek)
	return err == nil && p.open
}

// blind reports that the connection shows no socket to peek at: a
// DialContext wrapped it in a type that is not a syscall.Conn. Such a
// connection is used for one request only (put), since nothing could tell
// a stray response on it from the next request's answer.
func (p *peeker) blind() bool { return p.raw == nil }
