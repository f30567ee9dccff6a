//go:build unix

package deadaddr_test

import (
	"net"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/01-backends/deadaddr"
)

// The port stays taken while the test runs: no other listener can have
// it, which is what keeps the address dead while other tests run
// alongside. (Only on Unix: elsewhere the fallback frees the port.)
func TestNewHoldsThePort(t *testing.T) {
	for range 20 {
		addr := deadaddr.New(t)
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			ln.Close()
			t.Fatalf("net.Listen(%q) succeeded: the dead address's port was free for another listener", addr)
		}
		assert.ErrorIs(t, err, syscall.EADDRINUSE)
	}
}
