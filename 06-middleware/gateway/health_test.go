package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
)

// flaky is demo backend name whose /health answers 503 while failing is
// set; every other path works.
func flaky(t *testing.T, name string) (*httptest.Server, *atomic.Bool) {
	var failing atomic.Bool
	h := backend.New(name)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" && failing.Load() {
			http.Error(w, "sick", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &failing
}

// served sends n requests and counts the answers per backend.
func served(t *testing.T, url string, n int) map[string]int {
	t.Helper()
	count := map[string]int{}
	for range n {
		r := send(t, http.DefaultClient, "GET", url, nil, "")
		require.Equal(t, 200, r.code, r.body)
		count[r.backend]++
	}
	return count
}

func TestActiveChecksEjectAndReadmit(t *testing.T) {
	a, failing := flaky(t, "A")
	others := backends(t, 3)[1:] // B and C
	g, gw, _ := start(t, strings.NewReplacer("${A}", a.URL, "${B}", others[0].URL, "${C}", others[1].URL).Replace(`
pools:
  p:
    health: {path: /health, rise: 2, fall: 2}
    targets: ["${A}", "${B}", "${C}"]
routes: [{pool: p}]
`))
	ctx := context.Background()
	admin := httptest.NewServer(g.Admin())
	defer admin.Close()
	up := func() map[string]bool {
		var hs []PoolHealth
		code, body := get(t, admin.URL+"/admin/health")
		require.Equal(t, 200, code)
		require.NoError(t, json.Unmarshal([]byte(body), &hs))
		m := map[string]bool{}
		for _, s := range hs[0].Targets {
			m[s.Target] = s.Up
		}
		return m
	}

	assert.Equal(t, map[string]int{"A": 2, "B": 2, "C": 2}, served(t, gw.URL, 6))

	g.CheckNow(ctx) // all pass: from now on, fall counts
	failing.Store(true)
	g.CheckNow(ctx)
	assert.True(t, up()[a.URL], "one failed check is not enough (fall 2)")
	g.CheckNow(ctx)
	assert.False(t, up()[a.URL], "two failed checks take A out")
	assert.Equal(t, map[string]int{"B": 3, "C": 3}, served(t, gw.URL, 6), "no request goes to A")
	assert.Contains(t, metrics(t, admin.URL), `gateway_backend_up{pool="p",target="`+a.URL+`"} 0`)

	failing.Store(false)
	g.CheckNow(ctx)
	assert.False(t, up()[a.URL], "one passed check is not enough (rise 2)")
	assert.Equal(t, 0, served(t, gw.URL, 4)["A"])
	g.CheckNow(ctx)
	assert.True(t, up()[a.URL], "two passed checks bring A back")
	assert.Equal(t, 2, served(t, gw.URL, 6)["A"], "A takes its share again")
	assert.Contains(t, metrics(t, admin.URL), `gateway_backend_up{pool="p",target="`+a.URL+`"} 1`)
}

func metrics(t *testing.T, adminURL string) string {
	t.Helper()
	resp, err := http.Get(adminURL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(data)
}

// A pool's health and transport settings reach its checker and its
// transport: each one left out of newPool would pass the tests of the
// health and direct packages, which set them by hand.
func TestPoolSettingsReachTheChecksAndTheTransport(t *testing.T) {
	srvs := backends(t, 1)
	g, gw, _ := start(t, fill(`
pools:
  p:
    health: {path: /health, status: 204, rise: 1, fall: 1}
    transport: {response_header_timeout: 50ms, response_body_timeout: 40ms, max_idle_conns_per_host: 7}
    retry: {tries: 1}
    targets: ["${A}"]
routes: [{pool: p}]
`, srvs))

	// The transport: a backend slower than response_header_timeout is a
	// 504 (a real 50 ms wait; the backend would take 5 s).
	r := send(t, http.DefaultClient, "GET", gw.URL+"/delay/5s", nil, "")
	assert.Equal(t, http.StatusGatewayTimeout, r.code, r.body)
	p := g.cur.Load().pools["p"]
	assert.Equal(t, 7, p.transport.MaxIdlePerHost)
	assert.Equal(t, 40*time.Millisecond, p.transport.ResponseBodyTimeout, "it bounds both paths: see direct.Transport")
	assert.Equal(t, 7, p.transport.Fallback.(*http.Transport).MaxIdleConnsPerHost)
	assert.Equal(t, 50*time.Millisecond, p.transport.ResponseHeaderTimeout)
	assert.Equal(t, 50*time.Millisecond, p.transport.Fallback.(*http.Transport).ResponseHeaderTimeout,
		"the requests direct leaves to http.Transport (a chunked body, an upgrade) are bounded too")

	// The checks: the demo backend's /health answers 200, and this pool
	// expects 204, so the backend fails its check.
	g.CheckNow(context.Background())
	st := g.cur.Load().pools["p"].checker.States()
	assert.False(t, st[0].Up)
	assert.Equal(t, "status 200, want 204", st[0].Last)
}

// A request sent to a backend before active checks took it out, and
// failing only after they put it back, is about the backend as it was:
// its failure must not count against the backend readmitted. A Report
// names a backend, not a pick, so the balancer alone cannot tell the two
// apart (balancer.Balancer's Remove); with max_fails 1 (the default) that
// one late failure took a backend out again just after it passed its
// checks, for fail_timeout.
func TestALateFailureDoesNotCountAgainstTheReadmittedBackend(t *testing.T) {
	var failing atomic.Bool
	arrived, release := make(chan struct{}), make(chan struct{})
	h := backend.New("A")
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/health" && failing.Load():
			http.Error(w, "sick", http.StatusServiceUnavailable)
		case r.URL.Path == "/hang": // answers nothing, then drops the connection
			close(arrived)
			<-release
			c, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				c.Close()
			}
		default:
			h.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(a.Close)
	now := time.Unix(1e9, 0) // a clock that stands still: fail_timeout never passes
	g, gw, _ := startWith(t, strings.ReplaceAll(`
pools:
  p:
    health: {path: /health, rise: 1, fall: 1}
    retry: {tries: 1}
    targets: ["${A}"]
routes: [{pool: p}]
`, "${A}", a.URL), Options{Now: func() time.Time { return now }})
	ctx := context.Background()

	late := make(chan int, 1)
	go func() {
		resp, err := http.Get(gw.URL + "/hang")
		if err != nil {
			late <- 0
			return
		}
		resp.Body.Close()
		late <- resp.StatusCode
	}()
	receive(t, arrived, "the request at A")
	failing.Store(true)
	g.CheckNow(ctx)
	require.Equal(t, http.StatusServiceUnavailable, send(t, http.DefaultClient, "GET", gw.URL+"/", nil, "").code, "A is out")
	failing.Store(false)
	g.CheckNow(ctx)
	require.Equal(t, "A", send(t, http.DefaultClient, "GET", gw.URL+"/", nil, "").backend, "A is back")

	close(release)
	assert.Equal(t, http.StatusBadGateway, receive(t, late, "the late request's answer"), "the request sent before A went out fails")
	r := send(t, http.DefaultClient, "GET", gw.URL+"/", nil, "")
	assert.Equal(t, http.StatusOK, r.code, "A still takes requests: %s", r.body)
}

// gateway_backend_up has a series for each backend of the configuration
// in use, and none for one a reload removed: Prometheus takes a series
// that is still exported for a backend still there, stuck at its last
// value.
func TestBackendUpHasNoSeriesForWhatAReloadRemoved(t *testing.T) {
	srvs := backends(t, 3)
	g, _, src := start(t, fill(`
pools:
  p: {health: {path: /health}, targets: ["${A}", "${B}"]}
  q: {targets: ["${C}"]}
routes: [{pool: p}, {path: /q, pool: q}]
`, srvs))
	admin := httptest.NewServer(g.Admin())
	defer admin.Close()
	series := func() []string {
		var out []string
		for line := range strings.Lines(metrics(t, admin.URL)) {
			if strings.HasPrefix(line, "gateway_backend_up{") {
				out = append(out, strings.TrimSpace(line))
			}
		}
		return out
	}
	up := func(pool string, srv *httptest.Server) string {
		return `gateway_backend_up{pool="` + pool + `",target="` + srv.URL + `"} 1`
	}
	require.ElementsMatch(t, []string{up("p", srvs[0]), up("p", srvs[1]), up("q", srvs[2])}, series())

	src.set(fill(`
pools:
  p: {health: {path: /health}, targets: ["${A}"]}
routes: [{pool: p}]
`, srvs))
	require.NoError(t, g.Reload())
	assert.Equal(t, []string{up("p", srvs[0])}, series(), "B and pool q are gone from the configuration, and from the metrics")
}

// Active checks decide whether a backend is in the balancer at all, and
// a request's success does not overrule them: a request sent to A before
// its checks took it out, and answered after, leaves A out until it
// passes them.
func TestARequestsSuccessDoesNotReadmitABackendChecksTookOut(t *testing.T) {
	var failing atomic.Bool
	arrived, release := make(chan struct{}), make(chan struct{})
	h := backend.New("A")
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/health" && failing.Load():
			http.Error(w, "sick", http.StatusServiceUnavailable)
		case r.URL.Path == "/slow":
			close(arrived)
			<-release
			io.WriteString(w, "done\n")
		default:
			h.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(a.Close)
	b := backends(t, 2)[1]
	g, gw, _ := start(t, strings.NewReplacer("${A}", a.URL, "${B}", b.URL).Replace(`
pools:
  p:
    health: {path: /health, rise: 1, fall: 1}
    targets: ["${A}", "${B}"]
routes: [{pool: p}]
`))
	done := getStatus(gw.URL + "/slow") // the first pick of round robin: A
	receive(t, arrived, "the request at A")
	failing.Store(true)
	g.CheckNow(context.Background())
	close(release)
	require.Equal(t, http.StatusOK, receive(t, done, "the request's answer"))
	assert.Equal(t, map[string]int{"B": 4}, served(t, gw.URL, 4), "A is out until it passes its checks")
}

// Each time checks take a backend out or put it back, the gateway logs
// it, with the pool, the backend and, going down, the failed check (as
// HAProxy logs "Server ... is DOWN, reason: ..."). A check that changes
// nothing logs nothing.
func TestHealthChangesAreLogged(t *testing.T) {
	a, failing := flaky(t, "A")
	var log lockedBuffer
	src := &fakeSource{text: strings.ReplaceAll(`
pools:
  p:
    health: {path: /health, rise: 2, fall: 1}
    targets: ["${A}"]
routes: [{pool: p}]
`, "${A}", a.URL)}
	g, err := New(context.Background(), src.read, Options{ManualChecks: true, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	require.NoError(t, err)
	defer g.Close()
	ctx := context.Background()
	lines := func() []string {
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(log.String()), "\n") {
			if strings.Contains(l, "backend") {
				_, msg, _ := strings.Cut(l, "level=")
				out = append(out, msg)
			}
		}
		return out
	}

	g.CheckNow(ctx)
	assert.Empty(t, lines(), "a passed check of a backend up")
	failing.Store(true)
	g.CheckNow(ctx)
	want := []string{`WARN msg="backend down" pool=p backend=` + a.URL + ` reason="status 503, want 200" checks=2`}
	assert.Equal(t, want, lines())
	g.CheckNow(ctx)
	failing.Store(false)
	g.CheckNow(ctx)
	assert.Equal(t, want, lines(), "still down: one pass of rise 2")
	g.CheckNow(ctx)
	want = append(want, `INFO msg="backend up" pool=p backend=`+a.URL+` checks=5`)
	assert.Equal(t, want, lines())
}
