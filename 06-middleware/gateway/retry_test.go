package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/01-backends/deadaddr"
)

// resetter is a backend that reads each request and then drops the
// connection without answering: the request was sent, and failed before
// any response. It counts the requests it saw.
func resetter(t *testing.T, onHit func()) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		hits.Add(1)
		if onHit != nil {
			onHit()
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// counted wraps a demo backend and counts the requests it answers.
func counted(t *testing.T, name string) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	h := backend.New(name)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// Passive health is off in these pools (max_fails: 0), so that the round
// robin order, and so which backend each attempt reaches, is known.
const retryPool = `
pools:
  p:
    balancer: roundrobin
    passive: {max_fails: 0}
    retry: {tries: 3, max_body_bytes: 16}
    targets: ["${X}", "${Y}"]
routes:
  - {path: /, pool: p}
`

func retryGateway(t *testing.T, x, y string) *httptest.Server {
	t.Helper()
	_, gw, _ := start(t, strings.NewReplacer("${X}", x, "${Y}", y).Replace(retryPool))
	return gw
}

func TestConnectErrorIsRetriedForAnyMethod(t *testing.T) {
	good, hits := counted(t, "B")
	gw := retryGateway(t, deadaddr.URL(t), good.URL)
	r := send(t, http.DefaultClient, "POST", gw.URL+"/echo", nil, "order=1")
	assert.Equal(t, 200, r.code, "a POST that could not connect never reached a backend: it is retried")
	assert.Equal(t, "B", r.backend)
	assert.EqualValues(t, 1, hits.Load())
}

func TestPostIsNotRetriedOnceSent(t *testing.T) {
	bad, badHits := resetter(t, nil)
	good, goodHits := counted(t, "B")
	gw := retryGateway(t, bad.URL, good.URL)

	r := send(t, http.DefaultClient, "POST", gw.URL+"/echo", nil, "order=1")
	assert.Equal(t, http.StatusBadGateway, r.code)
	assert.Contains(t, r.body, "bad gateway: pool p: tried "+strings.TrimPrefix(bad.URL, "http://")+": ")
	assert.EqualValues(t, 1, badHits.Load(), "the POST reached the first backend")
	assert.EqualValues(t, 0, goodHits.Load(), "and was not sent again")

	r = send(t, http.DefaultClient, "PATCH", gw.URL+"/echo", nil, "")
	assert.Equal(t, 200, r.code, "PATCH, second in turn, went to the good backend")
	r = send(t, http.DefaultClient, "PATCH", gw.URL+"/echo", nil, "x")
	assert.Equal(t, http.StatusBadGateway, r.code, "PATCH is not idempotent either")
	assert.EqualValues(t, 2, badHits.Load())
	assert.EqualValues(t, 1, goodHits.Load())
}

func TestIdempotentRequestsAreRetried(t *testing.T) {
	for _, tc := range []struct {
		method string
		header http.Header
		body   string
	}{
		{"GET", nil, ""},
		{"HEAD", nil, ""},
		{"OPTIONS", nil, ""},
		// TRACE is idempotent too (retry.go), but the gateway answers it
		// itself, before routing (TestTraceIsNotForwarded).
		{"DELETE", nil, ""},
		{"PUT", nil, "small body"},
		{"POST", http.Header{"Idempotency-Key": {"order-42"}}, "order=42"},
		{"POST", http.Header{"X-Idempotency-Key": {"order-43"}}, "order=43"},
	} {
		t.Run(tc.method+fmt.Sprint(tc.header), func(t *testing.T) {
			bad, badHits := resetter(t, nil)
			good, goodHits := counted(t, "B")
			gw := retryGateway(t, bad.URL, good.URL)
			r := send(t, http.DefaultClient, tc.method, gw.URL+"/echo", tc.header, tc.body)
			assert.Equal(t, 200, r.code, r.body)
			assert.EqualValues(t, 1, badHits.Load())
			assert.EqualValues(t, 1, goodHits.Load())
			if tc.method != "HEAD" {
				var e backend.Echo
				require.NoError(t, jsonUnmarshal(r.body, &e))
				assert.EqualValues(t, len(tc.body), e.BodyBytes, "the retried request carries the whole body")
			}
		})
	}
}

// A body kept for retries has been read, so the client's "Expect:
// 100-continue" has had its answer (net/http's): the gateway does not ask
// the backend again. Otherwise each attempt waits for the backend's 100,
// and the client gets a second one, passed on. A body too large to keep
// is streamed, and the backend's 100 is the one that counts.
func TestAKeptBodyDoesNotAskTheBackendToContinue(t *testing.T) {
	var expects []string
	var mu sync.Mutex
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		mu.Lock()
		expects = append(expects, r.Header.Get("Expect"))
		mu.Unlock()
	}))
	t.Cleanup(backend.Close)
	_, gw, _ := start(t, `
pools:
  p:
    retry: {max_body_bytes: 16}
    targets: ["`+backend.URL+`"]
routes: [{pool: p}]
`)
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
	t.Cleanup(client.CloseIdleConnections)
	for _, body := range []string{"kept", strings.Repeat("x", 17)} {
		var continues int
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{Got100Continue: func() { continues++ }})
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, gw.URL+"/", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Expect", "100-continue")
		resp, err := client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, 1, continues, "100 Continue answers for a %d-byte body", len(body))
	}
	assert.Equal(t, []string{"", "100-continue"}, expects)
}

func TestLargeBodyIsNotRetried(t *testing.T) {
	bad, badHits := resetter(t, nil)
	good, goodHits := counted(t, "B")
	gw := retryGateway(t, bad.URL, good.URL)
	r := send(t, http.DefaultClient, "PUT", gw.URL+"/echo", nil, strings.Repeat("x", 17)) // max_body_bytes is 16
	assert.Equal(t, http.StatusBadGateway, r.code, "a body too large to keep is sent once")
	assert.Contains(t, r.body, "tried "+strings.TrimPrefix(bad.URL, "http://")+": ", "one attempt, on the first backend")
	assert.EqualValues(t, 1, badHits.Load())
	assert.EqualValues(t, 0, goodHits.Load())
}

func TestRetriesAreBoundedByTries(t *testing.T) {
	a, aHits := resetter(t, nil)
	b, bHits := resetter(t, nil)
	c, cHits := resetter(t, nil)
	_, gw, _ := start(t, strings.NewReplacer("${A}", a.URL, "${B}", b.URL, "${C}", c.URL).Replace(`
pools:
  p:
    passive: {max_fails: 0}
    retry: {tries: 2}
    targets: ["${A}", "${B}", "${C}"]
routes: [{pool: p}]
`))
	r := send(t, http.DefaultClient, "GET", gw.URL+"/", nil, "")
	assert.Equal(t, http.StatusBadGateway, r.code)
	assert.EqualValues(t, 2, aHits.Load()+bHits.Load()+cHits.Load(), "two tries in all")
	assert.Contains(t, r.body, "tried "+strings.TrimPrefix(a.URL, "http://")+", "+strings.TrimPrefix(b.URL, "http://")+":")
}

func TestRetriesAreBoundedByTime(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1e9, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	slow := func() { mu.Lock(); now = now.Add(10 * time.Second); mu.Unlock() } // each failure "takes" 10 s
	a, aHits := resetter(t, slow)
	b, bHits := resetter(t, slow)
	src := &fakeSource{text: strings.NewReplacer("${A}", a.URL, "${B}", b.URL).Replace(`
pools:
  p:
    passive: {max_fails: 0}
    retry: {tries: 5, timeout: 5s}
    targets: ["${A}", "${B}"]
routes: [{pool: p}]
`)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := New(ctx, src.read, Options{ManualChecks: true, Logger: discardLogger(), Now: clock})
	require.NoError(t, err)
	defer g.Close()
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, http.StatusBadGateway, rec.Code)
	assert.EqualValues(t, 1, aHits.Load()+bHits.Load(), "the first failure used up the 5 s: no second try")
}

// retry.timeout: 0 is no limit but tries, as nginx's
// proxy_next_upstream_timeout 0: a dial error is still retried.
func TestZeroRetryTimeoutIsNoLimit(t *testing.T) {
	good, hits := counted(t, "B")
	_, gw, _ := start(t, strings.NewReplacer("${X}", deadaddr.URL(t), "${Y}", good.URL).Replace(`
pools:
  p:
    balancer: roundrobin
    passive: {max_fails: 0}
    retry: {tries: 2, timeout: 0s}
    targets: ["${X}", "${Y}"]
routes: [{pool: p}]
`))
	r := send(t, http.DefaultClient, "GET", gw.URL+"/", nil, "")
	assert.Equal(t, 200, r.code, r.body)
	assert.EqualValues(t, 1, hits.Load())
}

func TestNoBackendIs503(t *testing.T) {
	srvs := backends(t, 2)
	g, gw, _ := start(t, fill(`
pools:
  p:
    health: {path: /status/503, fall: 1}
    targets: ["${A}", "${B}"]
routes: [{pool: p}]
`, srvs))
	g.CheckNow(context.Background())
	code, body := get(t, gw.URL+"/")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "service unavailable: pool p: no backend available: the pool is empty (0 of 2 backends pass their health checks)\n", body)
}

type brokenBody struct{}

func (brokenBody) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

// A body the client does not finish is the client's fault: 400, and no
// backend sees the request.
func TestBrokenRequestBodyIs400(t *testing.T) {
	good, hits := counted(t, "B")
	g, _, _ := start(t, strings.ReplaceAll("pools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p}]\n", "${A}", good.URL))
	req := httptest.NewRequest("PUT", "/echo", io.MultiReader(strings.NewReader("abc"), brokenBody{}))
	req.ContentLength = 10
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
	assert.EqualValues(t, 0, hits.Load())
}

// The 400 for a body that broke says so once, kept or streamed. Stage
// 03's rewrite marks the body's read errors with its ErrRequestBody
// ("reading the request body"); marked again here with the same words,
// the client read "reading the request body: reading the request body".
// The 400's own words say it now, followed by the cause alone
// (TestACutOffBodySaysWhyOnce).
func TestABrokenBodySaysSoOnce(t *testing.T) {
	srvs := backends(t, 1)
	g, _, _ := start(t, fill("pools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p}]\n", srvs))
	for _, length := range []int64{10, -1} { // kept, streamed
		req := httptest.NewRequest("PUT", "/echo", io.MultiReader(strings.NewReader("abc"), brokenBody{}))
		req.ContentLength = length
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusBadRequest, rec.Code, "Content-Length %d", length)
		assert.Equal(t, "the request body could not be read: unexpected EOF\n", rec.Body.String(), "Content-Length %d", length)
	}
}

// A retry reaches a backend not tried yet whenever one is up, whatever
// the balancer. Asking the balancer again is not enough: Maglev sends
// most keys and their retry suffixes to the heavy backend (swrr's round
// passes over the tried backends, and chash and bounded walk on along the
// ring past them, to the light one here). Passive health is off here, so
// nothing takes the failed backends out (max_fails above 1 leaves them in
// just the same until it is reached). Before PickExcept, and before swrr's
// round could skip, swrr and the hash balancers gave up after the first
// failure with the light backend untried: 502.
func TestARetryReachesAnUntriedBackend(t *testing.T) {
	for _, name := range []string{"random", "roundrobin", "swrr", "leastconn", "p2c", "chash", "bounded", "maglev"} {
		for _, n := range []int{2, 3} {
			t.Run(fmt.Sprint(name, "/", n, "backends"), func(t *testing.T) {
				var targets []string
				var badHits []*atomic.Int32
				for range n - 1 {
					bad, hits := resetter(t, nil)
					badHits = append(badHits, hits)
					targets = append(targets, fmt.Sprintf("{url: %q, weight: 20}", bad.URL))
				}
				good, goodHits := counted(t, "G")
				targets = append(targets, fmt.Sprintf("{url: %q, weight: 1}", good.URL))
				key := ""
				switch name {
				case "chash", "bounded", "maglev":
					key = "key: header:X-User"
				}
				_, gw, _ := start(t, fmt.Sprintf(`
pools:
  p:
    balancer: %s
    %s
    passive: {max_fails: 0}
    retry: {tries: %d}
    targets: [%s]
routes: [{pool: p}]
`, name, key, n, strings.Join(targets, ", ")))
				const requests = 10
				for i := range requests {
					r := send(t, http.DefaultClient, "GET", gw.URL+"/", http.Header{"X-User": {fmt.Sprint("user-", i)}}, "")
					assert.Equal(t, 200, r.code, "request %d: %s", i, r.body)
					assert.Equal(t, "G", r.backend, "request %d", i)
				}
				assert.EqualValues(t, requests, goodHits.Load())
				for i, hits := range badHits {
					assert.LessOrEqual(t, hits.Load(), int32(requests), "failing backend %d was tried at most once per request", i)
				}
			})
		}
	}
}

// A request whose first backend could not be reached (a dial error) never
// left the gateway, body included: it is retried whatever its method and
// however large or chunked its body, since the body streamed to no one
// and is still the client's to read. Before, a body too large to keep or
// of unknown length was never retried, so every upload picked for a dead
// backend was a 502.
func TestADialErrorIsRetriedWhateverTheBody(t *testing.T) {
	big := strings.Repeat("x", 1000) // max_body_bytes is 16
	for _, tc := range []struct {
		name, method string
		chunked      bool
	}{
		{"POST too large to keep", "POST", false},
		{"PUT chunked", "PUT", true},
		{"PATCH chunked", "PATCH", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			good, hits := counted(t, "B")
			gw := retryGateway(t, deadaddr.URL(t), good.URL)
			var body io.Reader = strings.NewReader(big)
			if tc.chunked {
				body = io.MultiReader(body) // no length: sent chunked
			}
			req, err := http.NewRequest(tc.method, gw.URL+"/echo", body)
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			data, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.Equal(t, 200, resp.StatusCode, string(data))
			assert.Equal(t, "B", resp.Header.Get("X-Backend"))
			var e backend.Echo
			require.NoError(t, jsonUnmarshal(string(data), &e))
			assert.EqualValues(t, len(big), e.BodyBytes, "the whole body reached the second backend")
			assert.EqualValues(t, 1, hits.Load())
		})
	}
	t.Run("a chunked PUT that reached a backend is not sent again", func(t *testing.T) {
		bad, badHits := resetter(t, nil)
		good, goodHits := counted(t, "B")
		gw := retryGateway(t, bad.URL, good.URL)
		req, err := http.NewRequest("PUT", gw.URL+"/echo", io.MultiReader(strings.NewReader(big)))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadGateway, resp.StatusCode, "its body was read: it cannot go again")
		assert.EqualValues(t, 1, badHits.Load())
		assert.EqualValues(t, 0, goodHits.Load())
	})
}
