//go:build !unix

package deadaddr

import "net"

// hold falls back to the racy way on systems that are not Unix (Windows):
// listen, note the address, close. The course relies on, and tests, what
// Unix kernels do with a socket that is bound but not listening; it has
// not checked that Windows refuses connections to one at once, and its
// socket calls differ (syscall.Handle, SO_EXCLUSIVEADDRUSE). Here the port
// is free again after the close, so another listener can be given it
// before the test dials; that is rare, and a refusal is still what the
// test almost always sees.
func hold() (addr string, s *held, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr = ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", nil, err
	}
	return addr, &held{addr: addr}, nil
}

// held is only the address: nothing is held.
type held struct{ addr string }

func (s *held) release() {}

func (s *held) listen() (net.Listener, error) { return net.Listen("tcp", s.addr) }
