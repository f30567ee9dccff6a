package deadaddr_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/01-backends/deadaddr"
)

// A server on a listener from Listen answers until it is closed; then
// its address refuses connections at once, as New's does.
func TestNewServerRefusesOnceClosed(t *testing.T) {
	srv := deadaddr.NewServer(t, backend.New("A"))
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/")
	require.NoError(t, err, "alive before Close")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "Hello from backend A\n", string(body))

	srv.Close()
	_, err = net.DialTimeout("tcp", srv.Listener.Addr().String(), 10*time.Second)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED, "a connection after Close")
	_, err = http.Get(srv.URL + "/")
	assert.ErrorIs(t, err, syscall.ECONNREFUSED, "an HTTP client after Close")
}

// Closing only the listener leaves the connections it accepted open, as
// with httptest's own: a test that cuts them too says so
// (CloseClientConnections).
func TestListenerCloseLeavesOpenConnections(t *testing.T) {
	srv := deadaddr.NewServer(t, backend.New("A"))
	t.Cleanup(srv.Close)
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	br := bufio.NewReader(c)
	ask := func() (*http.Response, error) {
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
			return nil, err
		}
		resp, err := http.ReadResponse(br, nil)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return resp, err
	}
	_, err = ask()
	require.NoError(t, err, "the connection is served before the listener closes")

	require.NoError(t, srv.Listener.Close())
	resp, err := ask()
	require.NoError(t, err, "a connection accepted before the close is still served")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	_, err = net.DialTimeout("tcp", srv.Listener.Addr().String(), 10*time.Second)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED, "a new connection is refused")
}

// A listener from Listen is on 127.0.0.1 and accepts connections.
func TestListenAccepts(t *testing.T) {
	ln := deadaddr.Listen(t)
	defer ln.Close()
	host, _, err := net.SplitHostPort(ln.Addr().String())
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host)
	accepted := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
		accepted <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	c.Close()
	assert.NoError(t, <-accepted)
}

// An address from Reserve refuses connections while nothing listens, and
// a test can listen on it, close, and listen on it again.
func TestReserveCanBeListenedOnAgainAndAgain(t *testing.T) {
	addr := deadaddr.Reserve(t)
	_, err := net.DialTimeout("tcp", addr, 10*time.Second)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED, "nothing listens yet")
	for i := range 3 {
		ln, err := net.Listen("tcp", addr)
		require.NoError(t, err, "listen %d", i)
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err, "a connection while listen %d is open", i)
		c.Close()
		require.NoError(t, ln.Close())
		_, err = net.DialTimeout("tcp", addr, 10*time.Second)
		assert.ErrorIs(t, err, syscall.ECONNREFUSED, "after listen %d is closed", i)
	}
}
