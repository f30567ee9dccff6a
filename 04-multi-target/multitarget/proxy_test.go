package multitarget

import (
	"context"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/01-backends/deadaddr"
	"github.com/gocourse/gateway/03-director/rewrite"
)

// startBackends starts backends A, B, ... and returns their URLs.
func startBackends(t *testing.T, n int) []*url.URL {
	t.Helper()
	var targets []*url.URL
	for i := range n {
		srv := httptest.NewServer(backend.New(backend.Name(i)))
		t.Cleanup(srv.Close)
		targets = append(targets, urls(t, srv.URL)...)
	}
	return targets
}

func startProxy(t *testing.T, targets []*url.URL, seed uint64) string {
	t.Helper()
	p, err := New(targets, Options{Rand: rand.New(rand.NewPCG(seed, seed))})
	require.NoError(t, err)
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv.URL
}

type answer struct {
	status        int
	backend, body string
}

func get(rawURL string) answer {
	resp, err := http.Get(rawURL)
	if err != nil {
		return answer{body: err.Error()}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{body: err.Error()}
	}
	return answer{resp.StatusCode, resp.Header.Get(backend.HeaderName), string(body)}
}

// TestEveryTargetGetsItsShare sends 600 requests, 6 at a time, through the
// proxy to 3 backends: each must serve 200 ± 5 standard deviations
// (sqrt(600·1/3·2/3) ≈ 11.5, so ± 58). See pickertest.Sigmas.
func TestEveryTargetGetsItsShare(t *testing.T) {
	const n, workers = 600, 6
	p := startProxy(t, startBackends(t, 3), 1)

	answers := make(chan answer, n)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range n / workers {
				answers <- get(p + "/")
			}
		})
	}
	wg.Wait()
	close(answers)
	count := map[string]int{}
	for a := range answers {
		assert.Equal(t, http.StatusOK, a.status, a.body)
		count[a.backend]++
	}
	sd := math.Sqrt(n * 1.0 / 3 * 2 / 3)
	for _, name := range []string{"A", "B", "C"} {
		assert.InDelta(t, n/3, count[name], 5*sd, "requests served by backend %s (all: %v)", name, count)
	}
}

// TestOneTargetDown puts a backend that is not running beside a live one:
// the requests picked for it get a 502 that names it and says why, the
// others are served, and nothing crashes or answers empty.
func TestOneTargetDown(t *testing.T) {
	dead := deadaddr.New(t)
	p := startProxy(t, append(startBackends(t, 1), urls(t, "http://"+dead)...), 2)

	served, failed := 0, 0
	for range 50 {
		a := get(p + "/")
		switch a.status {
		case http.StatusOK:
			served++
			assert.Equal(t, "Hello from backend A\n", a.body)
		case http.StatusBadGateway:
			failed++
			assert.True(t, strings.HasPrefix(a.body, "bad gateway: the backend "+dead+" is unreachable: dial tcp "+dead+": "),
				"the 502's body must name the backend and the failure, got %q", a.body)
		default:
			t.Errorf("status %d, body %q: want 200 from A or 502 for the dead target", a.status, a.body)
		}
	}
	assert.Positive(t, served, "the live backend must still be served")
	assert.Positive(t, failed, "with a fixed seed, some picks fall on the dead target")
}

func TestWebSocketPassesThrough(t *testing.T) {
	p := startProxy(t, startBackends(t, 2), 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 4 { // whichever backend is picked
		ws, err := backend.DialWebSocket(ctx, p+"/ws")
		require.NoError(t, err)
		require.NoError(t, ws.Send("hello"))
		got, err := ws.Receive()
		require.NoError(t, err)
		assert.Equal(t, "hello", got)
		ws.Close()
	}
}

// TestSSEPassesThrough: events pass through as they come. The backend
// sends the first event and then waits for the test, which lets it send
// the second only once it has read the first: a proxy that buffered the
// stream would hold the first event until the request's deadline.
func TestSSEPassesThrough(t *testing.T) {
	release := make(chan struct{})
	sse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "id: 1\ndata: event 1 of 2\n\n")
		http.NewResponseController(w).Flush()
		select {
		case <-release:
			io.WriteString(w, "id: 2\ndata: event 2 of 2\n\n")
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(sse.Close)
	p := startProxy(t, urls(t, sse.URL, sse.URL), 1)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p+"/sse", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err, "no answer while the backend held the second event: the proxy buffered the stream")
	defer resp.Body.Close()
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	first := make([]byte, len("id: 1\ndata: event 1 of 2\n\n"))
	_, err = io.ReadFull(resp.Body, first)
	require.NoError(t, err, "the first event never came while the backend held the second: the proxy buffered it")
	assert.Equal(t, "id: 1\ndata: event 1 of 2\n\n", string(first))
	close(release)
	rest, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "id: 2\ndata: event 2 of 2\n\n", string(rest))
}

// TestRewriteOptionsApply checks that the rewrite.Options given to New
// reach every target's requests. The source is seeded, so the same picks
// (both targets among them) are made on every run.
func TestRewriteOptionsApply(t *testing.T) {
	p, err := New(startBackends(t, 2), Options{
		Rewrite: rewrite.Options{ResponseHeader: http.Header{"X-Proxy": {"04-multi-target"}}, Transform: rewrite.Upper},
		Rand:    rand.New(rand.NewPCG(1, 1)),
	})
	require.NoError(t, err)
	srv := httptest.NewServer(p)
	defer srv.Close()
	served := map[string]bool{} // the backends that answered
	for range 10 {
		resp, err := http.Get(srv.URL + "/")
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		served[resp.Header.Get(backend.HeaderName)] = true
		assert.Equal(t, "04-multi-target", resp.Header.Get("X-Proxy"))
		assert.Equal(t, "HELLO FROM BACKEND "+resp.Header.Get(backend.HeaderName)+"\n", string(body))
	}
	assert.Equal(t, map[string]bool{"A": true, "B": true}, served, "the backends that answered: the options must be seen on every target")
}
