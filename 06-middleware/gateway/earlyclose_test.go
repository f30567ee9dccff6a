package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAnEarlyAnswerToAChunkedRequestClosesItsConnection: the layers that
// answer before the backend (auth's 401, rate-limit's 429, body-limit's
// 413) keep the "Connection: close" the gateway set for a request whose
// body came chunked. Without it net/http reads the rest of an unread
// body and keeps the connection, and the request smuggled after the last
// chunk reached the backend past the layer that refused the first.
func TestAnEarlyAnswerToAChunkedRequestClosesItsConnection(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		seen = append(seen, r.URL.Path)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	_, gw, _ := start(t, fill(`
pools: {a: {targets: ["${A}"]}}
routes:
  - {path: /auth, pool: a, middleware: [{name: auth, api_keys: [{id: a, key: k}]}]}
  - {path: /limited, pool: a, middleware: [{name: rate-limit, rate: 0.001, burst: 1}]}
  - {path: /small, pool: a, middleware: [{name: body-limit, max_bytes: 2}]}
  - {path: /, pool: a}
`, []*httptest.Server{srv}))
	const smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	for _, c := range []struct {
		path, body string
		want       int
	}{
		{"/auth/a", "0\r\n\r\n", http.StatusUnauthorized},
		{"/limited/a", "0\r\n\r\n", http.StatusOK}, // the one token of the burst
		{"/limited/a", "0\r\n\r\n", http.StatusTooManyRequests},
		{"/small/a", "3\r\nabc\r\n0\r\n\r\n", http.StatusRequestEntityTooLarge},
	} {
		conn, err := net.Dial("tcp", gw.Listener.Addr().String())
		require.NoError(t, err)
		require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second))) // a bound on a hang, not a timing
		_, err = io.WriteString(conn, "POST "+c.path+" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"+c.body+smuggled)
		require.NoError(t, err)
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		io.Copy(io.Discard, resp.Body)
		assert.Equal(t, c.want, resp.StatusCode, c.path)
		assert.True(t, resp.Close, "%s: the %d says Connection: close", c.path, c.want)
		_, err = http.ReadResponse(br, nil)
		assert.Error(t, err, "%s: no second answer on the connection", c.path)
		conn.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	// A chunked body has no length to refuse before it is sent: the
	// body limit cuts it on its way, so the backend may or may not have
	// seen /small/a begin by then. No smuggled GET reached it, and no
	// request the auth or the rate limit refused.
	seen = slices.DeleteFunc(seen, func(path string) bool { return path == "/small/a" })
	assert.Equal(t, []string{"/limited/a"}, seen, "only the request the rate limit let through reached the backend (and /small/a, maybe)")
}
