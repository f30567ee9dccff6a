//go:build !linux

package deadaddr

import "net"

// reserve notes a free port and holds nothing (see Reserve).
func reserve() (addr string, release func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr = ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", nil, err
	}
	return addr, func() {}, nil
}
