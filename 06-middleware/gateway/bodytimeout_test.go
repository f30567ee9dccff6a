package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/deadaddr"
	"github.com/gocourse/gateway/06-middleware/middleware/bodytest"
)

// A client that stops sending its body mid-way, through a route with
// body-timeout, gets 408 on a closed connection once the pause passes,
// whether the gateway streams the body to the backend (too large to keep
// for a retry) or reads it first (small enough to keep), and the backend
// never gets a whole request.
func TestBodyTimeoutThroughTheGateway(t *testing.T) {
	for name, length := range map[string]int{"streamed": 1 << 20, "kept for retries": 1000} {
		t.Run(name, func(t *testing.T) {
			var whole atomic.Int32
			backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if b, err := io.ReadAll(r.Body); err == nil && len(b) == length {
					whole.Add(1)
				}
			}))
			t.Cleanup(backend.Close)
			_, gw, _ := start(t, bodyTimeoutConfig(backend.URL, "- access-log"))

			resp := bodytest.StalledPut(t, gw.URL, "/upload", "", make([]byte, length), 100)
			body, _ := io.ReadAll(resp.Body)
			assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode, string(body))
			assert.True(t, resp.Close)
			assert.Zero(t, whole.Load())
		})
	}
}

// body-timeout's after defaults to nginx's 60 s and must be above 0; a
// file that writes 0 is told to leave it out (0 would turn it off).
func TestBodyTimeoutOptions(t *testing.T) {
	o := DefaultRegistry().Options("body-timeout").(*BodyTimeoutOptions)
	assert.Equal(t, 60*time.Second, o.After)
	o.After = -time.Second
	assert.EqualError(t, o.Check(), "after: want a positive duration, got -1s: leave after out for the default, 1m0s")
}

// A complete body is never cut: a backend that reads a streamed body and
// then takes longer than body-timeout to answer still answers (before
// the fix, http.Transport's extra Read after EOF left a deadline that
// cancelled the request: 499). The backend's wait is the behaviour under
// test, not a synchronisation. The gateway reads only once the client
// has written the whole body (httptrace's WroteRequest): a client paused
// mid-body for longer than body-timeout, on a loaded machine, would be
// cut, rightly. So the streamed body is small, past a retry limit made
// small, to fit in the connection's buffers while nobody reads it.
func TestBodyTimeoutNeverCutsACompleteBody(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		<-time.After(150 * time.Millisecond) // a slow backend: three times the body timeout
		fmt.Fprintf(w, "%d bytes", len(b))
	}))
	t.Cleanup(backend.Close)
	text := strings.Replace(bodyTimeoutConfig(backend.URL), "p: { targets:", "p: { retry: {max_body_bytes: 4096}, targets:", 1)
	g, _, _ := start(t, text)
	require.EqualValues(t, 4096, g.cur.Load().pools["p"].cfg.Retry.MaxBodyBytes)
	sent := make(chan struct{}, 1)
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-sent:
		case <-time.After(10 * time.Second): // a bound on a hang, not a wait
			t.Error("the client did not write its request within 10 s")
		}
		g.ServeHTTP(w, r)
	}))
	t.Cleanup(gw.Close)
	for _, size := range []int{1000, 16 << 10} { // kept for retries, and streamed
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			WroteRequest: func(httptrace.WroteRequestInfo) { sent <- struct{}{} },
		})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, gw.URL+"/upload", strings.NewReader(strings.Repeat("z", size)))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%d bytes: %s", size, body)
		assert.Equal(t, fmt.Sprintf("%d bytes", size), string(body))
	}
}

// A backend that is down, a body too large to keep for a retry, and a
// client that has gone silent mid-body: the transport gives up on the
// body and closes it, net/http's discard of the rest is bounded, and the
// client gets an answer instead of a connection held for ever.
func TestADeadBackendAnswersAStalledBody(t *testing.T) {
	_, gw, _ := start(t, bodyTimeoutConfig(deadaddr.URL(t)))
	resp := bodytest.StalledPut(t, gw.URL, "/upload", "", make([]byte, 100<<10), 100)
	body, _ := io.ReadAll(resp.Body)
	assert.Contains(t, []int{http.StatusBadGateway, http.StatusRequestTimeout}, resp.StatusCode, string(body))
}

// bodyTimeoutConfig is a gateway with one pool, target, and one route
// whose middleware is the layers given (YAML list items), then
// body-timeout with a 50 ms after.
func bodyTimeoutConfig(target string, layers ...string) string {
	var mw strings.Builder
	for _, l := range layers {
		mw.WriteString("      " + l + "\n")
	}
	return `
pools:
  p: { targets: ["` + target + `"] }
routes:
  - pool: p
    middleware:
` + mw.String() + `      - name: body-timeout
        after: 50ms
`
}
