package storetest_test

import (
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/07-object-storage/meta"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// gone checks that nothing answers at a data server's old address, nor
// can any other test's server be given its port while this test runs:
// a client or the metadata server that still dials it is refused.
// (Linux only: elsewhere deadaddr frees the port, see its listen_other.go.)
func gone(t *testing.T, url, after string) {
	t.Helper()
	addr := strings.TrimPrefix(url, "http://")
	_, err := net.DialTimeout("tcp", addr, 10*time.Second)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED, "a connection to the old address after %s", after)
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		ln.Close()
		t.Errorf("net.Listen(%q) succeeded after %s: the old address's port was free for another test's server", addr, after)
		return
	}
	assert.ErrorIs(t, err, syscall.EADDRINUSE, after)
}

func TestKillAndMoveKeepTheOldAddressRefusing(t *testing.T) {
	cl := storetest.New(t, 3, meta.Options{})
	killed, moved, restarted := cl.Data[0].URL(), cl.Data[1].URL(), cl.Data[2].URL()
	cl.Kill(0)
	gone(t, killed, "Kill")
	cl.MoveData(1)
	assert.NotEqual(t, moved, cl.Data[1].URL(), "MoveData starts the server at a new address")
	gone(t, moved, "MoveData")
	cl.Kill(2)
	cl.Restart(2)
	gone(t, restarted, "Kill and Restart")
	cl.Data[1].HTTP.Close()
	gone(t, cl.Data[1].URL(), "HTTP.Close")
}
