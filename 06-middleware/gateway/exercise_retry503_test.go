//go:build exercise

package gateway

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Exercise 3 of chapter 06, part 2: retry an idempotent request that a
// backend answered with 503 on another backend, as nginx does with
// proxy_next_upstream http_503. It fails until RoundTrip does.
//
//	go test -tags exercise -run TestRetryOn503 ./06-middleware/gateway

// unavailable answers every request with a 503 and a body, and counts
// requests and the connections they came on.
func unavailable(t *testing.T) (*httptest.Server, *atomic.Int32, *atomic.Int32) {
	var hits, conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		hits.Add(1)
		http.Error(w, strings.Repeat("deploying, come back later\n", 100), http.StatusServiceUnavailable)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &hits, &conns
}

func TestRetryOn503(t *testing.T) {
	bad, badHits, badConns := unavailable(t)
	good, goodHits := counted(t, "B")
	gw := retryGateway(t, bad.URL, good.URL) // round robin: every request tries the 503 first

	for i := range 3 {
		r := send(t, http.DefaultClient, "GET", gw.URL+"/", nil, "")
		if !assert.Equal(t, 200, r.code, "GET %d: a 503 is retried on the other backend", i) {
			return
		}
	}
	assert.EqualValues(t, 3, badHits.Load())
	assert.EqualValues(t, 3, goodHits.Load())
	assert.EqualValues(t, 1, badConns.Load(),
		"the 503s came on %d connections: read the 503's body (a bounded amount) and close it, so that its connection can serve the next request", badConns.Load())

	r := send(t, http.DefaultClient, "POST", gw.URL+"/echo", nil, "order=1")
	assert.Equal(t, http.StatusServiceUnavailable, r.code, "a POST that reached a backend is never sent again, whatever it answered")
	assert.EqualValues(t, 3, goodHits.Load(), "the POST reached the second backend")

	// With no other backend to try, the client gets the 503 itself, body
	// and all: not a 502 about retries.
	_, only, _ := start(t, strings.ReplaceAll(strings.ReplaceAll(retryPool, `"${X}", "${Y}"`, `"`+bad.URL+`"`), "${X}", bad.URL))
	r = send(t, http.DefaultClient, "GET", only.URL+"/", nil, "")
	assert.Equal(t, http.StatusServiceUnavailable, r.code)
	assert.Contains(t, r.body, "deploying, come back later", "the backend's own 503")
}
