package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/middleware"
)

// unroutedRequests are the requests the gateway answers before any
// route, one per reason, and the start of the access line each must get.
var unroutedRequests = []struct {
	reason string
	req    func() *http.Request
	line   string
}{
	{"connect", func() *http.Request { return httptest.NewRequest("CONNECT", "secure.test:443", nil) },
		`method=CONNECT path="" status=501 `},
	{"trace", func() *http.Request { return httptest.NewRequest("TRACE", "/api/x", nil) },
		`method=TRACE path=/api/x status=501 `},
	{"trace", func() *http.Request { return httptest.NewRequest("TRACK", "/api/x", nil) },
		`method=TRACK path=/api/x status=501 `},
	{"not_a_path", func() *http.Request { return httptest.NewRequest("GET", "*", nil) },
		`method=GET path=* status=400 `},
	{"not_a_path", func() *http.Request { return httptest.NewRequest("GET", "x:admin/../y", nil) },
		`method=GET path="" status=400 `},
	{"upgrade", func() *http.Request {
		r := httptest.NewRequest("GET", "/api/ws", nil)
		r.Header.Set("Connection", "upgrade")
		r.Header.Set("Upgrade", "wébsocket")
		return r
	}, `method=GET path=/api/ws status=400 `},
	{"dot_segment", func() *http.Request { return httptest.NewRequest("GET", "/api/../admin", nil) },
		`method=GET path=/api/../admin status=400 `},
	{"query", func() *http.Request { return httptest.NewRequest("DELETE", "/api/k?version=1;", nil) },
		`method=DELETE path=/api/k status=400 `},
	{"no_route", func() *http.Request { return httptest.NewRequest("GET", "/wp-login.php", nil) },
		`method=GET path=/wp-login.php status=404 `},
}

// newUnroutedGateway builds a gateway whose one route, /api, has the
// access log and the metrics, logging to log as Run does (TextHandler).
func newUnroutedGateway(t *testing.T, logSection string, log io.Writer) *Gateway {
	t.Helper()
	var hits atomic.Int32
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(func() {
		backend.Close()
		assert.Equal(t, int32(1), hits.Load(), "only the routed request reaches the backend")
	})
	src := &fakeSource{text: logSection + "\npools: {p: {targets: [\"" + backend.URL + "\"]}}\nroutes: [{path: /api, pool: p, middleware: [access-log, metrics]}]\n"}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	g, err := New(ctx, src.read, Options{ManualChecks: true, Logger: slog.New(middleware.NewTextHandler(log, nil))})
	require.NoError(t, err)
	t.Cleanup(g.Close)
	return g
}

// scrape returns what g's admin endpoint answers at /metrics.
func scrape(t *testing.T, g *Gateway) string {
	t.Helper()
	rec := httptest.NewRecorder()
	g.Admin().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	return rec.Body.String()
}

// unroutedSeries are the lines of gateway_unrouted_requests_total in a
// scrape, sorted.
func unroutedSeries(scraped string) []string {
	var lines []string
	for line := range strings.Lines(scraped) {
		if strings.HasPrefix(line, "gateway_unrouted_requests_total{") {
			lines = append(lines, strings.TrimSuffix(line, "\n"))
		}
	}
	slices.Sort(lines)
	return lines
}

// The access log and the metrics are layers of a route, so a request the
// gateway answered before routing (a CONNECT, a TRACE, a target that is
// not a path, a bad Upgrade, a dot segment, a query that does not parse)
// or that matched no route was neither logged nor counted: a scan of
// ".." paths or a flood of 404s left no trace for an operator, where
// nginx logs every request. Each now gets the access-log layer's line,
// with no upstream, and counts under a reason of a fixed set.
func TestRequestsAnsweredBeforeAnyRouteAreLoggedAndCounted(t *testing.T) {
	var log lockedBuffer
	g := newUnroutedGateway(t, "", &log)

	for _, tc := range unroutedRequests {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, tc.req())
		assert.GreaterOrEqual(t, rec.Code, 400, tc.line)
	}
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest("GET", "/api/ok", nil))
	require.Equal(t, http.StatusOK, rec.Code)

	lines := strings.Split(strings.TrimSuffix(log.String(), "\n"), "\n")
	if assert.Len(t, lines, len(unroutedRequests)+1, "a line for each request, the routed one once:\n%s", log.String()) {
		for i, tc := range unroutedRequests {
			assert.Contains(t, lines[i], " level=INFO msg=request "+tc.line, tc.reason)
			assert.Contains(t, lines[i], ` upstream="" request_id="" client="" remote_addr=192.0.2.1`, tc.reason)
		}
		assert.Contains(t, lines[len(lines)-1], "msg=request method=GET path=/api/ok status=200 ", "the routed request, by its route's layer")
	}

	scraped := scrape(t, g)
	counts := map[string]int{}
	for _, tc := range unroutedRequests {
		counts[tc.reason]++
	}
	var want []string
	for _, reason := range reasons {
		want = append(want, fmt.Sprintf("gateway_unrouted_requests_total{reason=%q} %d", reason, counts[reason]))
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, unroutedSeries(scraped)); diff != "" {
		t.Errorf("gateway_unrouted_requests_total (-want +got):\n%s", diff)
	}
	assert.Contains(t, scraped, `gateway_requests_total{class="2xx",route="/api",upstream="`, "the routed request, by its route's layer")
	assert.NotContains(t, scraped, `route="unmatched"`, "no refusal is counted as a route's request")
}

// log.unrouted: false keeps those lines out of the log (a gateway on the
// open internet is scanned all day); they are still counted.
func TestUnroutedLinesCanBeTurnedOff(t *testing.T) {
	var log lockedBuffer
	g := newUnroutedGateway(t, "log: {unrouted: false}", &log)
	for _, tc := range unroutedRequests {
		g.ServeHTTP(httptest.NewRecorder(), tc.req())
	}
	g.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/ok", nil))

	assert.Equal(t, 1, strings.Count(log.String(), "msg=request"), "the routed request's line only:\n%s", log.String())
	assert.Contains(t, log.String(), "path=/api/ok status=200 ")
	assert.Contains(t, unroutedSeries(scrape(t, g)), `gateway_unrouted_requests_total{reason="no_route"} 1`, "counted all the same")
}
