package deadaddr

import "syscall"

// reserve binds a socket with SO_REUSEADDR and leaves it bound.
func reserve() (addr string, release func(), err error) {
	addr, holder, err := bindLoopback(func(fd int) error {
		return syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	})
	if err != nil {
		return "", nil, err
	}
	return addr, func() { holder.Close() }, nil
}
