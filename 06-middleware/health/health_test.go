package health_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/01-backends/deadaddr"
	"github.com/gocourse/gateway/06-middleware/health"
)

// sick is a backend whose /health answers 503 while failing is set.
func sick(t *testing.T) (*httptest.Server, *atomic.Bool) {
	var failing atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" || failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &failing
}

func TestFallThenRise(t *testing.T) {
	srv, failing := sick(t)
	var changes []string
	c := health.New([]string{srv.URL}, health.Options{
		Path: "/health", Timeout: 5 * time.Second, Status: 200, Rise: 2, Fall: 3,
		OnChange: func(s health.State) {
			changes = append(changes, map[bool]string{true: "up", false: "down"}[s.Up]+": "+s.Last)
		},
	})
	defer c.Close()
	ctx := context.Background()

	// Each step: whether the backend fails, then whether the checker says
	// it is up after one round.
	steps := []struct {
		fail, up bool
	}{
		{false, true},
		{true, true}, {true, true}, // two failures: still up (fall is 3)
		{false, true},                             // a pass resets the streak
		{true, true}, {true, true}, {true, false}, // three in a row: down
		{false, false},                // one pass: still down (rise is 2)
		{true, false},                 // a failure resets the streak
		{false, false}, {false, true}, // two in a row: up
	}
	for i, s := range steps {
		failing.Store(s.fail)
		c.CheckNow(ctx)
		assert.Equal(t, s.up, c.Up(srv.URL), "after check %d", i+1)
	}
	if diff := cmp.Diff([]string{"down: status 503, want 200", "up: ok"}, changes); diff != "" {
		t.Errorf("OnChange calls (-want +got):\n%s", diff)
	}
	st := c.States()[0]
	assert.Equal(t, len(steps), st.Checks)
	assert.Equal(t, "ok", st.Last)
}

// A backend never checked starts up, and its first failed check takes it
// down, whatever Fall says (HAProxy's init-state up); one adopted from a
// reload keeps its history and needs Fall failures.
func TestANewBackendFallsAtItsFirstFailedCheck(t *testing.T) {
	srv, failing := sick(t)
	failing.Store(true)
	opts := health.Options{Path: "/health", Timeout: 5 * time.Second, Status: 200, Rise: 2, Fall: 3}
	c := health.New([]string{srv.URL}, opts)
	defer c.Close()
	assert.True(t, c.Up(srv.URL), "up before any check")
	c.CheckNow(context.Background())
	assert.False(t, c.Up(srv.URL), "down at its first failed check")

	failing.Store(false)
	seen := health.New([]string{srv.URL}, opts)
	defer seen.Close()
	seen.CheckNow(context.Background())
	failing.Store(true)
	seen.CheckNow(context.Background())
	assert.True(t, seen.Up(srv.URL), "a backend seen healthy needs Fall failures")
	again := health.New([]string{srv.URL}, opts)
	defer again.Close()
	again.Adopt(seen)
	again.CheckNow(context.Background())
	assert.True(t, again.Up(srv.URL), "adopted with its history: two failures of three")
	again.CheckNow(context.Background())
	assert.False(t, again.Up(srv.URL))
}

func TestUnreachableAndWrongStatusFail(t *testing.T) {
	srv, failing := sick(t)
	failing.Store(true)
	dead := deadaddr.URL(t) // nothing listens there, nor will while the test runs
	c := health.New([]string{srv.URL, dead}, health.Options{Path: "/health", Timeout: 5 * time.Second, Status: 200, Rise: 1, Fall: 1})
	defer c.Close()
	c.CheckNow(context.Background())
	st := c.States()
	assert.False(t, st[0].Up)
	assert.Equal(t, "status 503, want 200", st[0].Last)
	assert.False(t, st[1].Up)
	assert.Contains(t, st[1].Last, "connect")
}

// A check judges the backend's own answer and follows no redirect: a
// 302 to a page that answers 200 is a 302.
func TestChecksDoNotFollowRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			http.Redirect(w, r, "/login", http.StatusFound)
		}
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		status int
		up     bool
		last   string
	}{{200, false, "status 302, want 200"}, {302, true, "ok"}} {
		c := health.New([]string{srv.URL}, health.Options{Path: "/health", Timeout: 5 * time.Second, Status: tc.status, Rise: 1, Fall: 1})
		c.CheckNow(context.Background())
		st := c.States()[0]
		assert.Equal(t, tc.up, st.Up, "want status %d", tc.status)
		assert.Equal(t, tc.last, st.Last)
		c.Close()
	}
}

func TestAdoptKeepsWhatIsKnown(t *testing.T) {
	srv, failing := sick(t)
	other, _ := sick(t)
	failing.Store(true)
	old := health.New([]string{srv.URL}, health.Options{Path: "/health", Timeout: 5 * time.Second, Status: 200, Rise: 2, Fall: 1})
	defer old.Close()
	old.CheckNow(context.Background())
	assert.False(t, old.Up(srv.URL))

	c := health.New([]string{srv.URL, other.URL}, health.Options{Path: "/health", Timeout: 5 * time.Second, Status: 200, Rise: 2, Fall: 1})
	defer c.Close()
	down := c.Adopt(old)
	assert.Equal(t, []string{srv.URL}, down)
	assert.False(t, c.Up(srv.URL), "a backend that was down stays down after a reload")
	assert.True(t, c.Up(other.URL), "a new backend starts up")
}

func TestRunChecksOnEveryTick(t *testing.T) {
	srv, failing := sick(t)
	failing.Store(true)
	c := health.New([]string{srv.URL}, health.Options{Path: "/health", Timeout: 5 * time.Second, Status: 200, Rise: 1, Fall: 3})
	defer c.Close()
	ticks := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx, ticks); close(done) }()
	// A tick is taken only once the round before it is done.
	for range 4 {
		ticks <- time.Time{}
	} // three rounds are done, the fourth may be running
	cancel()
	<-done
	assert.False(t, c.Up(srv.URL), "three rounds, three failures: down")
	assert.GreaterOrEqual(t, c.States()[0].Checks, 3)
}

// A backend that accepts the check and never answers fails it when
// Timeout passes: a hung backend is down, and one round of checks does
// not wait for it for ever. (The timeout is real, 50 ms, as is the
// slowloris test's; the 10 s guard only reports the hang.)
func TestAHungCheckFailsAtItsTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: the handler returns, then srv closes
	c := health.New([]string{srv.URL}, health.Options{Path: "/health", Timeout: 50 * time.Millisecond, Status: 200, Rise: 1, Fall: 1})
	defer c.Close()

	done := make(chan struct{})
	go func() { c.CheckNow(context.Background()); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a check of a backend that never answers did not end at its timeout")
	}
	st := c.States()
	assert.False(t, st[0].Up)
	assert.Contains(t, st[0].Last, "deadline exceeded")

	// And the bound is the check's timeout, not a longer one: the check's
	// request has a deadline Timeout after the check began (read from
	// the request, not timed: an elapsed time proves nothing on a slow
	// machine).
	var entered, deadline time.Time
	hung := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		entered = time.Now()
		deadline, _ = r.Context().Deadline()
		<-r.Context().Done()
		return nil, r.Context().Err()
	})
	const timeout = 50 * time.Millisecond
	c = health.New([]string{"http://backend.test"}, health.Options{Path: "/health", Timeout: timeout, Status: 200, Rise: 1, Fall: 1, Client: &http.Client{Transport: hung}})
	defer c.Close()
	before := time.Now()
	c.CheckNow(context.Background())
	assert.False(t, deadline.Before(before.Add(timeout)), "deadline %v, check began %v", deadline, before)
	assert.False(t, deadline.After(entered.Add(timeout)), "deadline %v, request sent %v: later than the timeout", deadline, entered)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Every check dials a new connection, so a backend that no longer accepts
// connections fails its check even while a connection it accepted earlier
// would still answer.
func TestEveryCheckDialsAfresh(t *testing.T) {
	var conns atomic.Int32
	srv := deadaddr.NewUnstartedServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})) // closed, it keeps refusing
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := health.New([]string{srv.URL}, health.Options{Path: "/health", Timeout: 5 * time.Second, Status: 200, Rise: 1, Fall: 1})
	defer c.Close()
	for range 3 {
		c.CheckNow(context.Background())
	}
	assert.Equal(t, int32(3), conns.Load(), "connections for three checks")
	assert.True(t, c.States()[0].Up)

	srv.Listener.Close() // connections already accepted stay open; new ones are refused
	c.CheckNow(context.Background())
	st := c.States()[0]
	assert.False(t, st.Up, "a backend that accepts no connection is down")
	assert.Contains(t, st.Last, "connect")
}

// A reload that changes the check (its path, status or timeout) carries
// nothing over: a backend the old check took out is not kept out by a
// question nobody asks any more, as it was when an operator fixed a
// wrong health path.
func TestAdoptKeepsNothingOfAnotherCheck(t *testing.T) {
	srv, _ := sick(t) // /health answers 200, any other path 503
	opts := health.Options{Path: "/wrong", Timeout: 5 * time.Second, Status: 200, Rise: 2, Fall: 1}
	old := health.New([]string{srv.URL}, opts)
	defer old.Close()
	old.CheckNow(context.Background())
	assert.False(t, old.Up(srv.URL))

	for _, change := range []func(*health.Options){
		func(o *health.Options) { o.Path = "/health" },
		func(o *health.Options) { o.Status = 503 },
		func(o *health.Options) { o.Timeout = time.Second },
	} {
		o := opts
		change(&o)
		c := health.New([]string{srv.URL}, o)
		assert.Empty(t, c.Adopt(old))
		assert.Equal(t, health.State{Target: srv.URL, Up: true, Since: c.States()[0].Since}, c.States()[0], "path %s, status %d, timeout %v", o.Path, o.Status, o.Timeout)
		c.Close()
	}
	same := health.New([]string{srv.URL}, health.Options{Path: "/wrong", Timeout: 5 * time.Second, Status: 200, Rise: 3, Fall: 2})
	defer same.Close()
	assert.Equal(t, []string{srv.URL}, same.Adopt(old), "new rise and fall, the same check: its results carry over")
}
