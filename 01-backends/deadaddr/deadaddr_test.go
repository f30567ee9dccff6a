package deadaddr_test

import (
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/deadaddr"
)

// A dead address refuses a connection at once, with the error a dialer
// reports for a backend that is down.
func TestNewRefusesConnections(t *testing.T) {
	addr := deadaddr.New(t)
	host, _, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host)

	_, err = net.DialTimeout("tcp", addr, 10*time.Second)
	require.Error(t, err, "a connection to %s must be refused", addr)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	assert.Contains(t, err.Error(), "dial tcp "+addr+": ")
	assert.Contains(t, err.Error(), "connection refused")

	_, err = http.Get(deadaddr.URL(t) + "/")
	assert.ErrorIs(t, err, syscall.ECONNREFUSED, "an HTTP client is refused too")
}

// A revived address accepts connections on the same port.
func TestRevivableComesToLife(t *testing.T) {
	addr, listen := deadaddr.Revivable(t)
	_, err := net.DialTimeout("tcp", addr, 10*time.Second)
	require.ErrorIs(t, err, syscall.ECONNREFUSED, "dead before listen")

	ln, err := listen()
	require.NoError(t, err)
	assert.Equal(t, addr, ln.Addr().String())
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("alive")) })}
	go srv.Serve(ln)
	resp, err := http.Get("http://" + addr + "/")
	require.NoError(t, err, "alive after listen")
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	assert.NoError(t, srv.Close())
}
