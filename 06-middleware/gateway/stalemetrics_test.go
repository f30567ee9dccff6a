package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The requests' metrics keep no series for a backend a reload removed, as
// gateway_backend_up keeps none: with backends that change address at
// each deploy, each reload would add series that stay for ever.
func TestRequestMetricsDropABackendAReloadRemoved(t *testing.T) {
	srvs := backends(t, 2)
	const text = `
pools:
  p: {targets: [%s]}
routes: [{pool: p, middleware: [metrics]}]
`
	g, gw, src := start(t, fill(strings.Replace(text, "%s", `"${A}", "${B}"`, 1), srvs))
	admin := httptest.NewServer(g.Admin())
	defer admin.Close()
	b := `upstream="` + srvs[1].Listener.Addr().String() + `"`
	for range 2 { // round robin: A, then B
		get(t, gw.URL+"/")
	}
	require.Eventually(t, func() bool { return strings.Contains(metrics(t, admin.URL), b) }, 10*time.Second, time.Millisecond)

	src.set(fill(strings.Replace(text, "%s", `"${A}"`, 1), srvs))
	require.NoError(t, g.Reload())
	m := metrics(t, admin.URL)
	assert.NotContains(t, m, b, "B is gone from the configuration, and from the metrics")
	assert.Contains(t, m, `upstream="`+srvs[0].Listener.Addr().String()+`"`, "A is still there")
}

// Without a scrape (no admin listener, or nobody reading it) the series of
// a removed backend go too, at the reload: else a gateway that is never
// scraped, reloaded as backends change address, keeps every address's
// series for ever.
func TestRequestMetricsDropABackendAReloadRemovedUnscraped(t *testing.T) {
	srvs := backends(t, 2)
	const text = `
pools:
  p: {targets: [%s]}
routes: [{pool: p, middleware: [metrics]}]
`
	g, gw, src := start(t, fill(strings.Replace(text, "%s", `"${A}", "${B}"`, 1), srvs))
	for range 2 { // round robin: A, then B
		get(t, gw.URL+"/")
	}
	// Counted once the handler returns, which may be after the client
	// has read the answer.
	require.Eventually(t, func() bool {
		n, err := testutil.GatherAndCount(g.prom, "gateway_requests_total")
		return err == nil && n == 2 // a series for A and one for B
	}, 10*time.Second, time.Millisecond)

	src.set(fill(strings.Replace(text, "%s", `"${A}"`, 1), srvs))
	require.NoError(t, g.Reload())
	n, err := testutil.GatherAndCount(g.prom, "gateway_requests_total")
	require.NoError(t, err)
	assert.Equal(t, 1, n, "B's series went with the reload that removed B, scraped or not")
}

// A request sent to a backend before the reload that removed it is
// counted when it ends, after the reload has dropped the backend's
// series: its series is made again then, and the next scrape drops it,
// so what Prometheus reads has no backend the configuration lost.
func TestAScrapeDropsASeriesARequestMadeAfterTheReload(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	a := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(a.Close)
	b := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		close(arrived)
		<-release
	}))
	t.Cleanup(b.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release) // should the test fail half way: before b.Close
		}
	})
	const text = `
pools:
  p: {balancer: roundrobin, targets: [%s]}
routes: [{pool: p, middleware: [metrics]}]
`
	g, gw, src := start(t, strings.Replace(text, "%s", `"`+a.URL+`", "`+b.URL+`"`, 1))
	admin := httptest.NewServer(g.Admin())
	defer admin.Close()
	get(t, gw.URL+"/") // round robin: A, then B
	done := make(chan int, 1)
	go func() {
		resp, err := http.Get(gw.URL + "/")
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	receive(t, arrived, "the request at B")

	src.set(strings.Replace(text, "%s", `"`+a.URL+`"`, 1))
	require.NoError(t, g.Reload())
	close(release)
	assert.Equal(t, http.StatusOK, receive(t, done, "B's answer"))
	// Counted once the handler returns, which may be after the client
	// has read the answer: B's series is back then.
	require.Eventually(t, func() bool {
		n, err := testutil.GatherAndCount(g.prom, "gateway_requests_total")
		return err == nil && n == 2
	}, 10*time.Second, time.Millisecond)

	m := metrics(t, admin.URL)
	assert.NotContains(t, m, `upstream="`+b.Listener.Addr().String()+`"`, "B, removed, in a scrape")
	assert.Contains(t, m, `upstream="`+a.Listener.Addr().String()+`"`)
}
