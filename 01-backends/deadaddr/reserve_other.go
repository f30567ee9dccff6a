//go:build !linux

package deadaddr

// reserve notes a free port and holds nothing (see Reserve): hold's
// fallback, which frees the port it noted.
func reserve() (addr string, release func(), err error) {
	addr, _, err = hold()
	return addr, func() {}, err
}
