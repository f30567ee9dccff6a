package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A retry that asks the balancer again may be given a backend this
// request has tried already; that pick is not used, and must count as
// nothing for passive health. Reported as a Success, it was the success
// of a probe when the backend's fail_timeout had passed since it failed
// (the pick starts a new check, as in nginx), and the backend's failures
// were forgotten though no request had reached it since.
//
// Here each failure "takes" 2 s of a fake clock, longer than the 1 s
// fail_timeout: the first request fails on A and then on B, and its third
// attempt is offered A again. With max_fails 2, the second request's two
// failures must then take both backends out, and the third request finds
// none (503). Before, A had been forgiven, stayed in with one failure,
// and the third request was sent to it.
func TestAnUnusedPickForgivesNoFailure(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1e9, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var slow atomic.Bool
	slow.Store(true)
	tick := func() {
		if slow.Load() {
			mu.Lock()
			now = now.Add(2 * time.Second)
			mu.Unlock()
		}
	}
	a, aHits := resetter(t, tick)
	b, bHits := resetter(t, tick)
	src := &fakeSource{text: strings.NewReplacer("${A}", a.URL, "${B}", b.URL).Replace(`
pools:
  p:
    balancer: roundrobin
    passive: {max_fails: 2, fail_timeout: 1s}
    retry: {tries: 3, timeout: 0s}
    targets: ["${A}", "${B}"]
routes: [{pool: p}]
`)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := New(ctx, src.read, Options{ManualChecks: true, Logger: discardLogger(), Now: clock})
	require.NoError(t, err)
	defer g.Close()
	serve := func() int {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		return rec.Code
	}

	assert.Equal(t, http.StatusBadGateway, serve())
	require.EqualValues(t, 1, aHits.Load(), "the first request tried A once")
	require.EqualValues(t, 1, bHits.Load(), "the first request tried B once")
	slow.Store(false)
	assert.Equal(t, http.StatusBadGateway, serve())
	assert.Equal(t, http.StatusServiceUnavailable, serve(), "two failures each: no backend left")
	assert.EqualValues(t, 4, aHits.Load()+bHits.Load(), "the third request reached no backend")
}

// An unused pick is undone as a pick is reported: not once checks have
// taken its backend out since (see report). The balancer forgot the pick
// when it removed the backend; undone after the checks put the backend
// back, it took one off the count of a request sent to the backend back,
// and least connections saw A idle while it had a request.
//
// In the gateway an unused pick is undone at once (pick), so checks
// change the epoch between the two only in the instant report also
// allows for (picked); the test holds the pick across the checks.
func TestAnUnusedPickOfAnEarlierEpochIsNotUndone(t *testing.T) {
	a, failing := flaky(t, "A")
	b := backends(t, 2)[1]
	g, _, _ := start(t, strings.NewReplacer("${A}", a.URL, "${B}", b.URL).Replace(`
pools:
  p:
    balancer: leastconn
    health: {path: /health, rise: 1, fall: 1}
    targets: ["${B}", "${A}"]
routes: [{pool: p}]
`))
	p := g.cur.Load().pools["p"]
	except := p.bal.(excepter)
	only := func(want string) picked { // picks the backend want, as a request would
		t.Helper()
		id, err := except.PickExcept(func(id string) bool { return id != want })
		require.NoError(t, err)
		return p.picked(id)
	}
	unused := only(a.URL)
	failing.Store(true)
	g.CheckNow(context.Background())
	failing.Store(false)
	g.CheckNow(context.Background())
	only(a.URL) // a request to A back
	only(b.URL) // and one to B
	p.unpick(unused)

	// A and B have a request each: a tie, which PickExcept gives to the
	// first added, B. With A's count one low, A.
	id, err := except.PickExcept(func(string) bool { return false })
	require.NoError(t, err)
	assert.Equal(t, b.URL, id, "A has a request in flight: the least loaded are A and B, and B comes first")
}
