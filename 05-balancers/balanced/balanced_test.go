package balanced_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/01-backends/deadaddr"
	"github.com/gocourse/gateway/03-director/rewrite"
	"github.com/gocourse/gateway/04-multi-target/multitarget"
	"github.com/gocourse/gateway/05-balancers/balanced"
	"github.com/gocourse/gateway/05-balancers/balancer"
	"github.com/gocourse/gateway/05-balancers/balancertest"
)

// cluster is three demo backends behind a balanced proxy.
type cluster struct {
	backends []*httptest.Server // A, B, C
	gateway  *httptest.Server
}

func newCluster(t *testing.T, b balancer.Balancer, key balancer.Key) *cluster {
	t.Helper()
	c := &cluster{}
	var targets []balanced.Target
	for i := range 3 {
		s := deadaddr.NewServer(t, backend.New(backend.Name(i))) // closed, it keeps refusing
		t.Cleanup(s.Close)
		c.backends = append(c.backends, s)
		u, err := url.Parse(s.URL)
		require.NoError(t, err)
		targets = append(targets, balanced.Target{URL: u, Weight: 1})
	}
	p, err := balanced.New(b, targets, balanced.Options{Key: key})
	require.NoError(t, err)
	c.gateway = httptest.NewServer(p)
	t.Cleanup(c.gateway.Close)
	return c
}

// get sends GET / as user and returns the status and the backend that
// answered ("" if none did).
func (c *cluster) get(user string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, c.gateway.URL+"/", nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("X-User", user)
	resp, err := c.gateway.Client().Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Backend"), err
}

func byUser(tb testing.TB) balancer.Key {
	key, err := balancer.ParseKey("header:X-User")
	require.NoError(tb, err)
	return key
}

// TestKillBackendUnderLoad kills backend B while four clients send
// requests, for every balancer. The clients see a few errors: the
// request that found B dead, and the ones picked for B before the
// balancer heard of it (one per other client at most). After that, B's
// traffic goes to A and C and no request fails.
func TestKillBackendUnderLoad(t *testing.T) {
	const clients, requests, maxFails = 4, 240, 1
	for _, name := range balancer.Names() {
		t.Run(name, func(t *testing.T) {
			clock := balancertest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) // fail_timeout never passes
			b, err := balancer.New(name, balancer.Options{Health: balancer.Health{MaxFails: maxFails, FailTimeout: 10 * time.Second}, Now: clock.Now})
			require.NoError(t, err)
			c := newCluster(t, b, byUser(t))

			var sent, failed atomic.Int64
			var kill sync.Once
			var wg sync.WaitGroup
			for g := range clients {
				wg.Go(func() {
					for i := range requests / clients {
						if sent.Add(1) == requests/3 {
							kill.Do(c.backends[1].Close) // B dies a third of the way through
						}
						code, _, err := c.get(fmt.Sprintf("user-%d-%d", g, i))
						if err != nil || code != http.StatusOK {
							failed.Add(1)
						}
					}
				})
			}
			wg.Wait()
			t.Logf("%d of %d requests failed", failed.Load(), requests)
			assert.Positive(t, failed.Load(), "B died under load: at least its first request after that fails (retries are stage 06's)")
			assert.LessOrEqual(t, failed.Load(), int64(maxFails+clients-1),
				"client errors after B died: at most max_fails, plus the requests already picked for B by the other clients")

			served := map[string]int{}
			for i := range 60 {
				code, from, err := c.get(fmt.Sprint("after-", i))
				require.NoError(t, err)
				require.Equal(t, http.StatusOK, code, "request %d after the load: B is known to be down, nothing should fail", i)
				served[from]++
			}
			assert.Zero(t, served["B"], "B is dead: %v", served)
			assert.Equal(t, 60, served["A"]+served["C"], "A and C take the traffic: %v", served)
		})
	}
}

// TestHashMovesOnlyTheDeadBackendsKeys: with a hash balancer, users of A
// and C keep their backend when B dies; only B's users move.
func TestHashMovesOnlyTheDeadBackendsKeys(t *testing.T) {
	for _, name := range []string{"chash", "bounded", "maglev"} {
		t.Run(name, func(t *testing.T) {
			b, err := balancer.New(name, balancer.Options{})
			require.NoError(t, err)
			c := newCluster(t, b, byUser(t))
			users := make([]string, 60)
			before := make([]string, len(users))
			for i := range users {
				users[i] = fmt.Sprint("user-", i)
				_, before[i], err = c.get(users[i])
				require.NoError(t, err)
			}
			require.Contains(t, before, "B", "some users should be on B")

			c.backends[1].Close()
			// The first request of a B user fails and takes B out.
			code, _, err := c.get(users[slices.Index(before, "B")])
			require.NoError(t, err)
			require.Equal(t, http.StatusBadGateway, code, "the first request to the dead backend")

			for i, user := range users {
				code, got, err := c.get(user)
				require.NoError(t, err)
				require.Equal(t, http.StatusOK, code)
				if before[i] == "B" {
					assert.NotEqual(t, "B", got, "%s was on B, which is dead", user)
				} else {
					assert.Equal(t, before[i], got, "%s was on %s, which is alive: it must stay", user, before[i])
				}
			}
		})
	}
}

func TestSameUserSameBackend(t *testing.T) {
	b, err := balancer.New("chash", balancer.Options{})
	require.NoError(t, err)
	c := newCluster(t, b, byUser(t))
	seen := map[string]bool{}
	for i := range 30 {
		user := fmt.Sprint("user-", i)
		_, first, err := c.get(user)
		require.NoError(t, err)
		seen[first] = true
		for range 3 {
			_, again, err := c.get(user)
			require.NoError(t, err)
			require.Equal(t, first, again, "%s's requests went to different backends", user)
		}
	}
	assert.Len(t, seen, 3, "30 users should be spread over all three backends")
}

// recorder is a balancer that always picks its one backend and records
// the reports it gets.
type recorder struct {
	balancer.Balancer
	mu      sync.Mutex
	reports []string
}

func (r *recorder) Report(id string, o balancer.Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reports = append(r.reports, map[balancer.Outcome]string{balancer.Success: "success", balancer.Failure: "failure"}[o])
	r.Balancer.Report(id, o)
}

// TestOutcomes: an answer is a success, even a 500; a backend that cannot
// be reached is a failure; a request no backend was picked for is not
// reported at all.
func TestOutcomes(t *testing.T) {
	a := deadaddr.NewServer(t, backend.New("A")) // closed, it keeps refusing
	defer a.Close()
	u, err := url.Parse(a.URL)
	require.NoError(t, err)
	rec := &recorder{Balancer: balancer.NewRoundRobin(balancer.Options{Health: balancer.Health{MaxFails: 1}})}
	p, err := balanced.New(rec, []balanced.Target{{URL: u, Weight: 1}}, balanced.Options{})
	require.NoError(t, err)
	gw := httptest.NewServer(p)
	defer gw.Close()

	status := func(path string) (int, string) {
		resp, err := gw.Client().Get(gw.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	code, _ := status("/")
	assert.Equal(t, http.StatusOK, code)
	code, _ = status("/status/500")
	assert.Equal(t, http.StatusInternalServerError, code)
	a.Close()
	code, _ = status("/")
	assert.Equal(t, http.StatusBadGateway, code)
	code, body := status("/")
	assert.Equal(t, http.StatusServiceUnavailable, code, "the only backend is down")
	assert.Equal(t, "service unavailable: no backend available: every backend is down\n", body)

	rec.mu.Lock()
	defer rec.mu.Unlock()
	if diff := cmp.Diff([]string{"success", "success", "failure"}, rec.reports); diff != "" {
		t.Errorf("reports (-want +got):\n%s", diff)
	}
}

// TestSlowAndGoneOutcomes: a backend that does not answer in time is a
// failure (nginx's "timeout"), a client that goes away before the answer
// is not: the backend did nothing wrong, and with max_fails 1 one
// impatient client would otherwise take it out for fail_timeout.
func TestSlowAndGoneOutcomes(t *testing.T) {
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select { // never answers on its own
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release)
	u, err := url.Parse(slow.URL)
	require.NoError(t, err)
	outcomes := func(timeout time.Duration, cancelOnArrival bool) []string {
		rec := &recorder{Balancer: balancer.NewRoundRobin(balancer.Options{Health: balancer.Health{MaxFails: 1}})}
		transport := &http.Transport{ResponseHeaderTimeout: timeout}
		defer transport.CloseIdleConnections()
		p, err := balanced.New(rec, []balanced.Target{{URL: u, Weight: 1}}, balanced.Options{Rewrite: rewrite.Options{Transport: transport}})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			<-arrived
			if cancelOnArrival {
				cancel() // the client goes away while the backend works
			}
		}()
		p.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.reports
	}
	assert.Equal(t, []string{"failure"}, outcomes(10*time.Millisecond, false), "a backend that did not answer within ResponseHeaderTimeout")
	assert.Equal(t, []string{"success"}, outcomes(time.Hour, true), "a client that went away is not the backend's failure")
}

// reportSignal is a balancer that passes each report on a channel.
type reportSignal struct {
	balancer.Balancer
	reports chan balancer.Outcome
}

func (r *reportSignal) Report(id string, o balancer.Outcome) {
	r.Balancer.Report(id, o)
	r.reports <- o
}

// TestStreamIsInFlightUntilItEnds: the report comes when the response is
// over, not when its headers arrive, so that a long stream counts as in
// flight (for least connections) for as long as it lasts; and it comes
// once. The request has a deadline, so a proxy that holds the stream back
// (or a handler stuck reporting) fails the test instead of hanging it.
func TestStreamIsInFlightUntilItEnds(t *testing.T) {
	release := make(chan struct{})
	streaming := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
			io.WriteString(w, "last\n")
		case <-r.Context().Done():
		}
	}))
	defer streaming.Close()
	u, err := url.Parse(streaming.URL)
	require.NoError(t, err)
	b := &reportSignal{Balancer: balancer.NewRoundRobin(balancer.Options{}), reports: make(chan balancer.Outcome, 2)}
	p, err := balanced.New(b, []balanced.Target{{URL: u, Weight: 1}}, balanced.Options{})
	require.NoError(t, err)
	gw := httptest.NewServer(p)
	defer gw.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, gw.URL+"/", nil)
	require.NoError(t, err)
	resp, err := gw.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body := bufio.NewReader(resp.Body)
	line, err := body.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "first\n", line)
	select {
	case <-b.reports:
		t.Fatal("the request was reported while its response was still streaming")
	default:
	}
	close(release)
	rest, err := io.ReadAll(body)
	require.NoError(t, err)
	assert.Equal(t, "last\n", string(rest))
	select {
	case o := <-b.reports:
		assert.Equal(t, balancer.Success, o)
	case <-time.After(10 * time.Second): // a deadline, not a wait: the report is due as the handler returns
		t.Fatal("the request was not reported once its response was over")
	}
	// The response ended when the handler returned, after every report
	// it made: a second one would be waiting here already.
	select {
	case <-b.reports:
		t.Error("the request was reported twice: every pick has exactly one report")
	default:
	}
}

func TestNoTargets(t *testing.T) {
	_, err := balanced.New(balancer.NewRandom(balancer.Options{}), nil, balanced.Options{Rewrite: rewrite.Options{}})
	assert.ErrorIs(t, err, multitarget.ErrNoTargets)
}

// TestHideBackend: with rewrite.Options.HideBackend the answer to a failed
// request keeps its status but does not name the backend's address, and
// the failure still counts against the backend.
func TestHideBackend(t *testing.T) {
	u, err := url.Parse(deadaddr.URL(t)) // unreachable from the start
	require.NoError(t, err)
	rec := &recorder{Balancer: balancer.NewRoundRobin(balancer.Options{Health: balancer.Health{MaxFails: 1}})}
	p, err := balanced.New(rec, []balanced.Target{{URL: u, Weight: 1}}, balanced.Options{Rewrite: rewrite.Options{HideBackend: true}})
	require.NoError(t, err)
	gw := httptest.NewServer(p)
	defer gw.Close()

	resp, err := gw.Client().Get(gw.URL + "/")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.NotContains(t, string(body), u.Host, "the answer names the backend's address")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	assert.Equal(t, []string{"failure"}, rec.reports)
}

// brokenBody is a request body that breaks off, as the server's reader of
// a client's upload does when the client sends a malformed chunk or
// closes the connection half way: some bytes, then an error.
type brokenBody struct{ sent bool }

var errBrokenBody = errors.New("the client's body broke off")

func (b *brokenBody) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		return copy(p, "part of an upload"), nil
	}
	return 0, errBrokenBody
}

func (b *brokenBody) Close() error { return nil }

// TestBrokenRequestBodyIsNotAFailure: a request whose body the gateway
// cannot read to its end fails, but through the client's fault, not the
// backend's: with max_fails 1, one client that sends a broken upload
// would otherwise take a healthy backend out for fail_timeout.
func TestBrokenRequestBodyIsNotAFailure(t *testing.T) {
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	defer a.Close()
	u, err := url.Parse(a.URL)
	require.NoError(t, err)
	rec := &recorder{Balancer: balancer.NewRoundRobin(balancer.Options{Health: balancer.Health{MaxFails: 1}})}
	p, err := balanced.New(rec, []balanced.Target{{URL: u, Weight: 1}}, balanced.Options{})
	require.NoError(t, err)

	r := httptest.NewRequest(http.MethodPost, "/upload", nil)
	r.Body, r.ContentLength = &brokenBody{}, -1
	w := httptest.NewRecorder()
	p.ServeHTTP(w, r)
	assert.Equal(t, http.StatusBadRequest, w.Code, "the request itself fails, as the client's (stage 03's rewrite.ErrRequestBody)")

	w = httptest.NewRecorder()
	p.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusOK, w.Code, "the backend is still up")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if diff := cmp.Diff([]string{"success", "success"}, rec.reports); diff != "" {
		t.Errorf("reports (-want +got):\n%s", diff)
	}
}

// TestRefusedUpgradeIsNotAFailure: a request that ReverseProxy refuses
// before sending it (an Upgrade header naming a protocol that is not
// printable ASCII, which net/http's server accepts) never reached the
// backend: it must not count against it, or one such request takes a
// healthy backend out for fail_timeout.
func TestRefusedUpgradeIsNotAFailure(t *testing.T) {
	var sent atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { sent.Add(1) }))
	defer s.Close()
	u, err := url.Parse(s.URL)
	require.NoError(t, err)
	rec := &recorder{Balancer: balancer.NewRoundRobin(balancer.Options{Health: balancer.Health{MaxFails: 1}})}
	p, err := balanced.New(rec, []balanced.Target{{URL: u, Weight: 1}}, balanced.Options{})
	require.NoError(t, err)

	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Upgrade", "caf\xe9")
	w := httptest.NewRecorder()
	p.ServeHTTP(w, r)
	require.Equal(t, http.StatusBadGateway, w.Code, "ReverseProxy refuses the upgrade")
	assert.Zero(t, sent.Load(), "the request should not have been sent")

	rec.mu.Lock()
	defer rec.mu.Unlock()
	if diff := cmp.Diff([]string{"success"}, rec.reports); diff != "" {
		t.Errorf("reports (-want +got):\n%s", diff)
	}
}
