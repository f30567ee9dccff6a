//go:build linux

package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unanswered returns a loopback address whose connections hang until the
// dialer gives up: a listening socket with a backlog of 0 that never
// accepts, its accept queue already full. Linux drops a SYN that arrives
// for a listener whose accept queue is full, without an answer, and the
// client retries it 1 s, 2 s, 4 s... later (Andreas Veithen, "How TCP
// backlog works in Linux", 2014). tcp_abort_on_overflow does not change
// that: it decides what happens to the handshake's last ACK, not to a
// SYN. net.Listen asks for the system's largest backlog, so the socket
// is made by hand.
//
// The technique is checked, not assumed: if a dial meant to hang
// connects, the test is skipped.
func unanswered(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	t.Cleanup(func() { syscall.Close(fd) })
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(t, syscall.Listen(fd, 0))
	sa, err := syscall.Getsockname(fd)
	require.NoError(t, err)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))

	// Fill the queue. Linux keeps backlog+1 connections, so one fills
	// it; the next dial is the probe, and must time out.
	for range 4 {
		c, err := net.DialTimeout("tcp", addr, 250*time.Millisecond)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return addr
		}
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("a listener with backlog 0 that never accepts took 4 connections: " +
		"this kernel does not drop SYNs when the accept queue is full, so no dial here hangs")
	return ""
}

// A pool's transport.dial_timeout bounds the connect on both its
// transports: the direct one (a GET) and the http.Transport behind it (a
// chunked POST, a body it cannot keep). Left out of newPool, either
// would dial with a 5 s default of its own. Which dialer each request
// dialed with is recorded (see dialWith), not timed: an upper bound on
// the time a 200 ms dial takes holds only on a machine fast enough.
func TestDialTimeoutFromConfig(t *testing.T) {
	const dialTimeout = 200 * time.Millisecond
	addr := unanswered(t)
	var mu sync.Mutex
	var dialed []time.Duration // the Timeout of each dial's dialer
	orig := dialWith
	dialWith = func(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			dialed = append(dialed, d.Timeout)
			mu.Unlock()
			return d.DialContext(ctx, network, addr)
		}
	}
	t.Cleanup(func() { dialWith = orig })
	g, gw, _ := start(t, `
pools:
  p:
    transport: {dial_timeout: 200ms}
    retry: {tries: 1}
    passive: {max_fails: 0} # the first timeout must not take the backend out
    targets: ["http://`+addr+`"]
routes: [{pool: p}]
`)
	require.Equal(t, dialTimeout, g.cur.Load().pools["p"].cfg.Transport.DialTimeout)
	// The client's limit is a bound on a test that would otherwise hang
	// (a dial with no timeout lasts about two minutes), not a timing.
	client := &http.Client{Timeout: 10 * time.Second}

	for _, tc := range []struct {
		name string
		req  func() *http.Request
	}{
		{"direct", func() *http.Request {
			req, err := http.NewRequest("GET", gw.URL+"/", nil)
			require.NoError(t, err)
			return req
		}},
		{"http.Transport", func() *http.Request {
			req, err := http.NewRequest("POST", gw.URL+"/echo", io.MultiReader(strings.NewReader("hello")))
			require.NoError(t, err)
			return req
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			dialed = nil
			mu.Unlock()
			begin := time.Now()
			resp, err := client.Do(tc.req())
			require.NoError(t, err, "the gateway did not answer within 10s: the dial never timed out")
			data, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			elapsed := time.Since(begin)

			assert.Equal(t, http.StatusGatewayTimeout, resp.StatusCode, string(data))
			assert.Contains(t, string(data), "dial tcp "+addr)
			assert.Contains(t, string(data), "i/o timeout")
			// A dialer's timeout is a deadline: it never fires early.
			assert.GreaterOrEqual(t, elapsed, dialTimeout)
			// The request's answer is in, so its dial is recorded.
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, []time.Duration{dialTimeout}, dialed, "the dialers the request dialed with: none is a transport's own")
		})
	}
}
