package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAChunkedRequestClosesItsConnection sends, on one connection, a
// request with both Content-Length and Transfer-Encoding whose chunked
// body ends before a second request: the gateway answers the first with
// "Connection: close" and closes, so the second, smuggled past any proxy
// in front that went by the Content-Length, reaches no backend (RFC 9112,
// section 6.1). A request with a Content-Length keeps its connection.
func TestAChunkedRequestClosesItsConnection(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/hints" {
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
		}
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	_, gw, _ := start(t, fill("pools: {a: {targets: [\"${A}\"]}}\nroutes: [{path: /, pool: a}]\n", []*httptest.Server{srv}))

	// exchange writes raw on a new connection and reads the answers
	// (1xx passed over) until the gateway closes it (or 10 s pass: a bound on a test that
	// would otherwise hang, not a timing).
	informational := 0 // 1xx answers read
	exchange := func(raw string) (answers []*http.Response, closed bool) {
		c, err := net.Dial("tcp", gw.Listener.Addr().String())
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
		_, err = io.WriteString(c, raw)
		require.NoError(t, err)
		br := bufio.NewReader(c)
		for len(answers) < 2 {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				return answers, err == io.EOF || err == io.ErrUnexpectedEOF
			}
			if resp.StatusCode < 200 {
				assert.Empty(t, resp.Header.Get("Connection"), "a %d says nothing of closing", resp.StatusCode)
				informational++
				continue // a 1xx goes before the answer
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			answers = append(answers, resp)
		}
		return answers, false
	}
	const smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"

	answers, closed := exchange("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 41\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled)
	require.Len(t, answers, 1, "one request answered on the connection")
	assert.Equal(t, http.StatusOK, answers[0].StatusCode)
	assert.True(t, answers[0].Close, "the answer says Connection: close")
	assert.True(t, closed, "and the gateway closes the connection")

	answers, closed = exchange("POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + smuggled)
	require.Len(t, answers, 1, "a chunked request alone closes its connection too")
	assert.True(t, answers[0].Close)
	assert.True(t, closed)

	answers, closed = exchange("POST /hints HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled)
	require.Len(t, answers, 1, "after a 103 from the backend too")
	assert.Equal(t, 1, informational, "the 103 came through")
	assert.Equal(t, http.StatusOK, answers[0].StatusCode)
	assert.True(t, answers[0].Close)
	assert.True(t, closed)

	answers, _ = exchange("POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" + smuggled)
	require.Len(t, answers, 2, "with a Content-Length the connection is kept for the next request")
	assert.False(t, answers[0].Close)

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"POST /a", "POST /b", "POST /hints", "POST /c", "GET /smuggled"}, seen, "only the request sent after a Content-Length body reached the backend as a second request")
}
