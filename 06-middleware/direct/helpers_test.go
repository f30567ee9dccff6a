package direct

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// countingServer is an httptest server that counts the connections
// clients open to it.
func countingServer(t *testing.T, h http.Handler) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// rawServer is a backend written at the byte level, for what a
// well-behaved net/http server never does: close an idle connection on
// purpose, send bytes nobody asked for. serve runs once per accepted
// connection, on its own goroutine.
func rawServer(t *testing.T, serve func(c net.Conn, r *bufio.Reader)) (url string, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	accepted = new(atomic.Int32)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close() // unblocks a serve waiting for a request that will not come
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			accepted.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c, bufio.NewReader(c))
			}()
		}
	}()
	return "http://" + ln.Addr().String(), accepted
}

// socketOf is the socket of a test's connection wrapper, for its
// SyscallConn method: a wrapper without one is closed after one request
// (peeker.blind), and the tests that wrap connections want them kept.
func socketOf(c net.Conn) (syscall.RawConn, error) { return c.(syscall.Conn).SyscallConn() }

// fallback is a RoundTripper that records that it was asked.
type fallback struct{ asked atomic.Int32 }

func (f *fallback) RoundTrip(req *http.Request) (*http.Response, error) {
	f.asked.Add(1)
	return http.DefaultTransport.RoundTrip(req)
}

// get sends a GET through rt and returns the status and body.
func get(t *testing.T, rt http.RoundTripper, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	return do(t, rt, req)
}

func do(t *testing.T, rt http.RoundTripper, req *http.Request) (int, string) {
	t.Helper()
	resp, err := rt.RoundTrip(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func httptestServer(testing.TB) *httptest.Server {
	body := []byte("hello from backend\n")
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
}
