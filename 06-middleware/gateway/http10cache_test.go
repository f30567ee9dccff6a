package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAnHTTP10RequestFillsTheCache: the gateway closes the connection of
// every HTTP/1.0 request (proxy.CloseDoubtfulFraming sets "Connection:
// close" before any layer runs), and the cache must not read that as the
// backend's answer being tied to its connection: an HTTP/1.0 client
// (ApacheBench, curl -0) fills the cache and is answered from it like any
// other. The backend's own Connection still keeps an answer out
// (middleware.TestCacheKeepsNothingItMayNot).
func TestAnHTTP10RequestFillsTheCache(t *testing.T) {
	var gets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "kept")
	}))
	t.Cleanup(srv.Close)
	_, gw, _ := start(t, fill(`
pools: {a: {targets: ["${A}"]}}
routes: [{path: /, pool: a, middleware: [{name: cache, max_bytes: 1048576}]}]
`, []*httptest.Server{srv}))
	get10 := func() *http.Response {
		c, err := net.Dial("tcp", gw.Listener.Addr().String())
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second))) // a bound on a hang, not a timing
		_, err = io.WriteString(c, "GET /page HTTP/1.0\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, "kept", string(body))
		return resp
	}
	first, second := get10(), get10()
	assert.True(t, first.Close && second.Close, "each HTTP/1.0 answer still closes its connection")
	assert.Equal(t, int32(1), gets.Load(), "the second GET is answered from the cache")
	assert.Contains(t, second.Header.Get("Cache-Status"), "hit")
}
