package middleware_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/middleware"
)

// flaky answers with the status in code, and counts the requests it sees.
type flaky struct {
	code  atomic.Int32
	calls atomic.Int32
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	w.WriteHeader(int(f.code.Load()))
}

func TestBreakerOpensFailsFastAndRecovers(t *testing.T) {
	clk := newClock()
	bs := middleware.NewBreakers(middleware.BreakerConfig{Failures: 3, Cooldown: 10 * time.Second, Now: clk.Now})
	up := &flaky{}
	up.code.Store(http.StatusBadGateway)
	h := bs.Wrap(up)
	b := bs.For("unmatched") // the default key: the route

	var codes []int
	for range 5 {
		codes = append(codes, get(h, "/").Code)
	}
	if diff := cmp.Diff([]int{502, 502, 502, 503, 503}, codes); diff != "" {
		t.Errorf("after 3 failures the breaker answers 503 itself (-want +got):\n%s", diff)
	}
	assert.Equal(t, int32(3), up.calls.Load(), "an open circuit must not reach the upstream")
	assert.Equal(t, middleware.Open, b.State())
	rec := get(h, "/")
	assert.Equal(t, "10", rec.Header().Get("Retry-After"))
	assert.Equal(t, "service unavailable: unmatched is failing, so the gateway is not sending it requests for now (circuit open)\n", rec.Body.String())

	clk.Advance(10 * time.Second) // cooldown over: one trial, which fails
	assert.Equal(t, 502, get(h, "/").Code)
	assert.Equal(t, middleware.Open, b.State(), "a failed trial opens the circuit again")
	assert.Equal(t, 503, get(h, "/").Code)

	clk.Advance(10 * time.Second) // another trial, which succeeds
	up.code.Store(http.StatusOK)
	assert.Equal(t, 200, get(h, "/").Code)
	assert.Equal(t, middleware.Closed, b.State())
	assert.Equal(t, 200, get(h, "/").Code)
}

func TestBreakerHalfOpenLetsOneTrialThrough(t *testing.T) {
	clk := newClock()
	b := middleware.NewBreakers(middleware.BreakerConfig{Failures: 1, Cooldown: time.Second, Now: clk.Now}).For("A")
	first, _, err := b.Allow()
	require.NoError(t, err)
	b.Report(first, false)
	clk.Advance(time.Second)

	probe, _, err := b.Allow()
	require.NoError(t, err)
	assert.True(t, probe.Probe())
	assert.Equal(t, middleware.HalfOpen, b.State())
	_, _, err = b.Allow()
	assert.ErrorIs(t, err, middleware.ErrOpen, "while the trial is in flight, the others fail fast")
}

// TestBreakerLateReportDoesNotRestartTheOpenPeriod: a request let in
// while the circuit was closed reports its failure after the circuit
// opened; that must not restart the cooldown, or slow requests in flight
// would keep a circuit open long after its cooldown.
func TestBreakerLateReportDoesNotRestartTheOpenPeriod(t *testing.T) {
	clk := newClock()
	b := middleware.NewBreakers(middleware.BreakerConfig{Failures: 1, Cooldown: 10 * time.Second, Now: clk.Now}).For("A")
	slow, _, err := b.Allow() // let in while closed; answers late
	require.NoError(t, err)
	fast, _, err := b.Allow()
	require.NoError(t, err)
	b.Report(fast, false) // opens the circuit
	require.Equal(t, middleware.Open, b.State())

	clk.Advance(5 * time.Second)
	b.Report(slow, false) // the slow one fails, late
	clk.Advance(5 * time.Second)
	probe, _, err := b.Allow()
	assert.NoError(t, err, "the cooldown counts from when the circuit opened, not from the late report")
	assert.True(t, probe.Probe())
}

// TestBreakerLateFailureAfterRecoveryDoesNotCount: requests let in
// before the circuit opened can fail long after, when the upstream has
// recovered and a trial has closed the circuit again. Their failures
// describe the upstream as it was, and must not count towards opening
// it anew: here two of them would reopen a healthy upstream's circuit.
func TestBreakerLateFailureAfterRecoveryDoesNotCount(t *testing.T) {
	clk := newClock()
	b := middleware.NewBreakers(middleware.BreakerConfig{Failures: 2, Cooldown: 10 * time.Second, Now: clk.Now}).For("A")
	var slow []middleware.Ticket // let in while closed; answer late
	for range 2 {
		s, _, err := b.Allow()
		require.NoError(t, err)
		slow = append(slow, s)
	}
	for range 2 {
		fast, _, err := b.Allow()
		require.NoError(t, err)
		b.Report(fast, false)
	}
	require.Equal(t, middleware.Open, b.State())

	clk.Advance(10 * time.Second)
	probe, _, err := b.Allow()
	require.NoError(t, err)
	b.Report(probe, true) // the upstream has recovered
	require.Equal(t, middleware.Closed, b.State())

	for _, s := range slow {
		b.Report(s, false)
	}
	assert.Equal(t, middleware.Closed, b.State(), "failures of requests let in before the circuit opened count for nothing")
	fresh, _, err := b.Allow()
	require.NoError(t, err)
	b.Report(fresh, false)
	assert.Equal(t, middleware.Closed, b.State(), "one fresh failure of Failures: 2")
}

func TestBreakerSuccessResetsTheCount(t *testing.T) {
	b := middleware.NewBreakers(middleware.BreakerConfig{Failures: 2}).For("A")
	for _, ok := range []bool{false, true, false, true, false} {
		ticket, _, _ := b.Allow()
		b.Report(ticket, ok)
	}
	assert.Equal(t, middleware.Closed, b.State(), "failures that are not consecutive do not open it")
}

func TestBreakerIgnoresRequestsTheClientCancelled(t *testing.T) {
	bs := middleware.NewBreakers(middleware.BreakerConfig{Failures: 1})
	h := bs.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway) // the proxy's answer when its client went away
	}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	do(h, httptest.NewRequest("GET", "/", nil).WithContext(ctx))
	assert.Equal(t, middleware.Closed, bs.For("unmatched").State())
}

func TestBreakerTransportPerUpstream(t *testing.T) {
	var hits atomic.Int32
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer dead.Close()
	alive := httptest.NewServer(&ok{})
	defer alive.Close()

	bs := middleware.NewBreakers(middleware.BreakerConfig{Failures: 2, Cooldown: time.Hour})
	client := &http.Client{Transport: bs.Transport(http.DefaultTransport)}
	for range 2 {
		resp, err := client.Get(dead.URL)
		require.NoError(t, err)
		resp.Body.Close()
	}
	_, err := client.Get(dead.URL)
	assert.True(t, errors.Is(err, middleware.ErrOpen), "%v", err)
	assert.Equal(t, int32(2), hits.Load())

	resp, err := client.Get(alive.URL)
	require.NoError(t, err, "another upstream has its own circuit")
	resp.Body.Close()
}

func TestStateString(t *testing.T) {
	assert.Equal(t, []string{"closed", "open", "half-open"},
		[]string{middleware.Closed.String(), middleware.Open.String(), middleware.HalfOpen.String()})
}

// TestBreakerCountsAHandlerThatGaveUpAtItsDeadline: a handler that
// returns at its deadline without writing (Timeout answers 504 for it)
// is a failure, not the 200 a writer reports when nothing was written.
func TestBreakerCountsAHandlerThatGaveUpAtItsDeadline(t *testing.T) {
	bs := middleware.NewBreakers(middleware.BreakerConfig{Failures: 1, Cooldown: time.Hour, Now: newClock().Now})
	var calls atomic.Int32
	h := middleware.Timeout(20 * time.Millisecond)(bs.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		<-r.Context().Done()
	})))
	var codes []int
	for range 3 {
		codes = append(codes, get(h, "/").Code)
	}
	if diff := cmp.Diff([]int{504, 503, 503}, codes); diff != "" {
		t.Errorf("one silent timeout opens a breaker of Failures: 1 (-want +got):\n%s", diff)
	}
	assert.Equal(t, int32(1), calls.Load())
}

// TestBreakerTrialCancelledByItsClientPassesTheSlotOn: a half-open trial
// whose client goes away proves nothing about the upstream, so the next
// request becomes the trial at once, neither refused as if a trial were
// still in flight nor made to wait another cooldown.
func TestBreakerTrialCancelledByItsClientPassesTheSlotOn(t *testing.T) {
	clk := newClock()
	bs := middleware.NewBreakers(middleware.BreakerConfig{Failures: 1, Cooldown: 10 * time.Second, Now: clk.Now})
	up := &flaky{}
	up.code.Store(http.StatusBadGateway) // the proxy's answer when its client went away
	h := bs.Wrap(up)
	b := bs.For("unmatched")

	require.Equal(t, 502, get(h, "/").Code)
	require.Equal(t, middleware.Open, b.State())
	clk.Advance(10 * time.Second)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	do(h, httptest.NewRequest("GET", "/", nil).WithContext(ctx)) // the trial; its client is gone
	assert.Equal(t, middleware.Open, b.State(), "the trial's slot is free again")

	up.code.Store(http.StatusOK)
	assert.Equal(t, 200, get(h, "/").Code, "the next request is the trial, with no second cooldown")
	assert.Equal(t, middleware.Closed, b.State())
	assert.Equal(t, int32(3), up.calls.Load())
}

// TestBreakerDefaults: a zero BreakerConfig opens a circuit after 5
// failures in a row and keeps it open for 10 seconds.
func TestBreakerDefaults(t *testing.T) {
	clk := newClock()
	bs := middleware.NewBreakers(middleware.BreakerConfig{Now: clk.Now})
	up := &flaky{}
	up.code.Store(http.StatusBadGateway)
	h := bs.Wrap(up)

	var codes []int
	for range 6 {
		codes = append(codes, get(h, "/").Code)
	}
	if diff := cmp.Diff([]int{502, 502, 502, 502, 502, 503}, codes); diff != "" {
		t.Errorf("open after 5 failures (-want +got):\n%s", diff)
	}
	assert.Equal(t, "10", get(h, "/").Header().Get("Retry-After"))
	clk.Advance(10*time.Second - time.Nanosecond)
	assert.Equal(t, 503, get(h, "/").Code, "still cooling down")
	clk.Advance(time.Nanosecond)
	assert.Equal(t, 502, get(h, "/").Code, "the trial, after 10 s")
}

// TestBreakerAStaleRequestCancelledDuringTheTrialLeavesItAlone: a
// request let in before the circuit opened, whose client goes away while
// the half-open trial is in flight, must not free the trial's slot: the
// upstream would get a second trial while the first is still out.
func TestBreakerAStaleRequestCancelledDuringTheTrialLeavesItAlone(t *testing.T) {
	clk := newClock()
	bs := middleware.NewBreakers(middleware.BreakerConfig{Failures: 1, Cooldown: 10 * time.Second, Now: clk.Now})
	staleCtx, cancelStale := context.WithCancel(context.Background())
	started, release, staleDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var h http.Handler
	h = bs.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/stale": // let in while closed; answers once released
			close(started)
			<-release
			w.WriteHeader(http.StatusBadGateway)
		case "/fail":
			w.WriteHeader(http.StatusBadGateway)
		case "/trial": // meanwhile the stale request's client goes away
			cancelStale()
			close(release)
			<-staleDone
			w.Header().Set("X-During-Trial", strconv.Itoa(get(h, "/other").Code))
		}
	}))

	go func() {
		defer close(staleDone)
		do(h, httptest.NewRequest("GET", "/stale", nil).WithContext(staleCtx))
	}()
	<-started
	require.Equal(t, 502, get(h, "/fail").Code)
	require.Equal(t, middleware.Open, bs.For("unmatched").State())
	clk.Advance(10 * time.Second)

	rec := get(h, "/trial")
	assert.Equal(t, "503", rec.Header().Get("X-During-Trial"), "a request while the trial is in flight is refused")
	assert.Equal(t, middleware.Closed, bs.For("unmatched").State(), "the trial succeeded")
}

// A body the client sent too large, or could not finish, is the client's
// fault: the proxy's 502 for it, which MaxBody (further out) turns into a
// 413, must not count against the upstream. Else a few oversized uploads
// open the route's circuit for every client.
func TestBreakerIgnoresRequestsWhoseBodyFailed(t *testing.T) {
	bs := middleware.NewBreakers(middleware.BreakerConfig{Failures: 1, Now: newClock().Now})
	h := middleware.MaxBody(4)(bs.Wrap(&readAll{}))
	for range 3 {
		// A body of unknown length, past the limit: cut off as it is read.
		req := httptest.NewRequest("POST", "/", io.MultiReader(strings.NewReader("0123456789")))
		assert.Equal(t, http.StatusRequestEntityTooLarge, do(h, req).Code)
	}
	assert.Equal(t, middleware.Closed, bs.For("unmatched").State())
	assert.Equal(t, http.StatusOK, do(h, httptest.NewRequest("POST", "/", strings.NewReader("0123"))).Code)

	// A body cut mid-upload (the client's connection ended, or
	// body-timeout stopped a stalled one): a read error of its own, no
	// limit involved. The upstream's 502 for it counts for nothing either.
	cut := bs.Wrap(&readAll{})
	for range 3 {
		body := io.MultiReader(strings.NewReader("01"), iotest.ErrReader(io.ErrUnexpectedEOF))
		assert.Equal(t, http.StatusBadGateway, do(cut, httptest.NewRequest("POST", "/", body)).Code)
	}
	assert.Equal(t, middleware.Closed, bs.For("unmatched").State(), "a cut upload opened the circuit")
}

// The same through Transport: a body cut off at MaxBody's limit makes
// RoundTrip fail, and that is not the upstream's failure.
func TestBreakerTransportIgnoresRequestsWhoseBodyFailed(t *testing.T) {
	up := httptest.NewServer(&readAll{})
	defer up.Close()
	bs := middleware.NewBreakers(middleware.BreakerConfig{Failures: 1, Cooldown: time.Hour})
	rt := bs.Transport(http.DefaultTransport)
	body := http.MaxBytesReader(nil, io.NopCloser(io.MultiReader(strings.NewReader("0123456789"))), 4)
	req := httptest.NewRequest("POST", up.URL, body).WithContext(context.Background())
	req.RequestURI = ""
	_, err := rt.RoundTrip(req)
	require.Error(t, err)
	assert.Equal(t, middleware.Closed, bs.For(req.URL.Host).State(), "RoundTrip failed with %v", err)
}

// A body read to its end is no failure of the client's: an upstream that
// takes the whole upload and then fails counts, through Wrap and through
// Transport, as it does for a request without a body. (Were the io.EOF
// that ends every body taken for a broken one, a route taking uploads
// would never open its circuit.)
func TestBreakerCountsAFailureAfterAWholeBody(t *testing.T) {
	failing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		http.Error(w, "upstream failed", http.StatusInternalServerError)
	})
	bs := middleware.NewBreakers(middleware.BreakerConfig{Failures: 2, Cooldown: time.Hour, Now: newClock().Now})
	h := bs.Wrap(failing)
	for range 2 {
		assert.Equal(t, http.StatusInternalServerError, do(h, httptest.NewRequest("POST", "/", strings.NewReader("an upload"))).Code)
	}
	assert.Equal(t, middleware.Open, bs.For("unmatched").State(), "Wrap")

	up := httptest.NewServer(failing)
	defer up.Close()
	bs = middleware.NewBreakers(middleware.BreakerConfig{Failures: 2, Cooldown: time.Hour, Now: newClock().Now})
	rt := bs.Transport(http.DefaultTransport)
	var host string
	for range 2 {
		req := httptest.NewRequest("POST", up.URL, io.MultiReader(strings.NewReader("an upload"))).WithContext(context.Background())
		req.RequestURI = ""
		host = req.URL.Host
		resp, err := rt.RoundTrip(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	}
	assert.Equal(t, middleware.Open, bs.For(host).State(), "Transport")
}
