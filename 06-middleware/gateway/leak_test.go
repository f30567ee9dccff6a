package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReloadsAndCloseLeaveNoConnectionOrCheck: a reload replaces changed
// pools while requests are still running on them, and Close stops the
// rest. Nothing may outlive them: every health-check ticker started is
// stopped, and once the gateway is closed it holds no connection to a
// backend, not even those of requests that finished on a replaced pool
// after it was stopped (they must not go back to an idle list nobody
// will close).
func TestReloadsAndCloseLeaveNoConnectionOrCheck(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			entered <- struct{}{}
			<-release
		}
		io.WriteString(w, "ok")
	}))
	open := countOpen(t, backend)

	var started, stopped atomic.Int32
	text := `
pools:
  p: {health: {path: /health, interval: 1s}, targets: ["` + backend.URL + `"]}
  q: {health: {path: /health, interval: 1s}, targets: ["` + backend.URL + `"]}
routes: [{pool: p}, {path: /q, pool: q}]
`
	src := &fakeSource{text: text}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := New(ctx, src.read, Options{Logger: discardLogger(), NewTicker: func(time.Duration) (<-chan time.Time, func()) {
		started.Add(1)
		return make(chan time.Time), func() { stopped.Add(1) }
	}})
	require.NoError(t, err)
	gw := httptest.NewServer(g)

	for i := range 10 {
		done := getStatus(gw.URL + "/slow")
		receive(t, entered, "the slow request at the backend")
		// Pool p changes (its interval); q stays as it is.
		interval := []string{"2s", "3s"}[i%2]
		src.set(strings.Replace(text, "interval: 1s}, targets: [\""+backend.URL+"\"]}\n  q", "interval: "+interval+"}, targets: [\""+backend.URL+"\"]}\n  q", 1))
		require.NoError(t, g.Reload())
		close(release) // the request ends on the replaced pool
		assert.Equal(t, http.StatusOK, receive(t, done, "the slow request's answer"))
		release = make(chan struct{})
		code, _ := get(t, gw.URL+"/q")
		assert.Equal(t, http.StatusOK, code)
		// A replaced pool's loop stops its ticker as it ends, soon after.
		assert.Eventually(t, func() bool { return started.Load()-stopped.Load() == 2 }, 10*time.Second, time.Millisecond,
			"reload %d: one ticker for each pool in use", i)
	}

	gw.Close()
	g.Close()
	assert.Eventually(t, func() bool { return started.Load() == stopped.Load() }, 10*time.Second, time.Millisecond,
		"every ticker started is stopped")
	assert.Eventually(t, func() bool { return open.Load() == 0 }, 10*time.Second, time.Millisecond,
		"the gateway still holds connections to the backend")
}

// TestARetryAfterAReloadLeavesNoConnection: a request that began on a
// pool a reload then replaced may still start an attempt on it (a retry,
// here). That attempt finds the replaced pool's transport told to close
// its idle connections, and must not undo it: once the request is over,
// the replaced pool holds no connection to a backend. (The transport's
// CloseIdleConnections lasts until its next request, as http.Transport's
// does: the attempt after the swap used to put its connection back in an
// idle list nobody would close, for the idle timeout, 90 s.)
func TestARetryAfterAReloadLeavesNoConnection(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	// X reads the request, waits for the reload, and drops the
	// connection: the GET is retried, on Y.
	x, _ := resetter(t, func() { entered <- struct{}{}; <-release })
	y := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	open := countOpen(t, y)

	text := strings.NewReplacer("${X}", x.URL, "${Y}", y.URL).Replace(retryPool)
	g, gw, src := start(t, text)
	done := getStatus(gw.URL + "/")
	receive(t, entered, "the first attempt at X")
	// Pool p changes (a third try): the pool the request runs on is replaced.
	src.set(strings.Replace(text, "tries: 3", "tries: 4", 1))
	require.NoError(t, g.Reload())
	close(release)
	require.Equal(t, http.StatusOK, receive(t, done, "the answer, from Y"))
	// The gateway in use now has sent nothing to Y: any connection
	// still open to it is the replaced pool's.
	assert.Eventually(t, func() bool { return open.Load() == 0 }, 10*time.Second, time.Millisecond,
		"the replaced pool still holds a connection to Y")
}

// TestStopEndsTheHealthLoopBeforeReturning: when Reload returns, the loop
// of every pool it replaced has ended, and when Close returns, every loop
// has: each stopped its ticker, exactly once, and no check of theirs
// still runs. (A loop that ended a little later would outlive a Close
// that says it stopped every check, and a program's leak check.)
func TestStopEndsTheHealthLoopBeforeReturning(t *testing.T) {
	srvs := backends(t, 1)
	var started, stopped atomic.Int32
	text := fill(`
pools:
  p: {health: {path: /health, interval: 1s}, targets: ["${A}"]}
  q: {health: {path: /health, interval: 1s}, targets: ["${A}"]}
routes: [{pool: p}, {path: /q, pool: q}]
`, srvs)
	src := &fakeSource{text: text}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := New(ctx, src.read, Options{Logger: discardLogger(), NewTicker: func(time.Duration) (<-chan time.Time, func()) {
		started.Add(1)
		return make(chan time.Time), func() { stopped.Add(1) }
	}})
	require.NoError(t, err)
	require.EqualValues(t, 2, started.Load())
	for i := range 5 {
		src.set(strings.Replace(text, "interval: 1s}", "interval: "+[]string{"2s", "3s"}[i%2]+"}", 1)) // p changes
		require.NoError(t, g.Reload())
		require.EqualValues(t, 3+i, started.Load())
		require.EqualValues(t, 1+i, stopped.Load(), "reload %d: the replaced pool's loop has ended", i)
	}
	g.Close()
	assert.Equal(t, started.Load(), stopped.Load(), "Close returned with a health loop still running")
	g.Close()
	assert.Equal(t, started.Load(), stopped.Load(), "a second Close stops nothing twice")
}

// getStatus GETs url in the background, reads the whole answer, and
// sends its status on the channel it returns (0 if the request failed).
func getStatus(url string) <-chan int {
	done := make(chan int, 1)
	go func() {
		resp, err := http.Get(url)
		if err != nil {
			done <- 0
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	return done
}
