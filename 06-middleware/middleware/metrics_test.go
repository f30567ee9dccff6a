package middleware_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/06-middleware/onion"
)

func TestMetricsByRouteClassAndUpstream(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := middleware.NewMetrics(reg)
	proxied := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		middleware.SetUpstream(r, "A") // what a proxy does once it has picked
		if r.URL.Query().Has("fail") {
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	panics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("x") })
	r := onion.NewRouter(onion.FromMiddleware(middleware.Recover(new(logBuffer).Logger())), onion.FromMiddleware(m.Wrap))
	r.Handle("/api", onion.FromHandler(proxied))
	r.Handle("/boom", onion.FromHandler(panics))

	for _, path := range []string{"/api/users/1", "/api/users/2", "/api/x?fail", "/nowhere/1", "/nowhere/2", "/boom"} {
		get(r, path)
	}

	// Routes, not paths: /api/users/1 and /api/users/2 are one series.
	want := `
# HELP gateway_requests_total Requests handled by the gateway.
# TYPE gateway_requests_total counter
gateway_requests_total{class="2xx",route="/api",upstream="A"} 2
gateway_requests_total{class="4xx",route="unmatched",upstream=""} 2
gateway_requests_total{class="5xx",route="/api",upstream="A"} 1
gateway_requests_total{class="5xx",route="/boom",upstream=""} 1
`
	assert.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), "gateway_requests_total"))

	rec := get(m.Handler(), "/metrics")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), `gateway_request_duration_seconds_count{class="2xx",route="/api",upstream="A"} 2`)
}

// TestMetricsCountAStatusPastTheClassesByItself: net/http lets a handler
// write any three-digit status, and one past 5xx has no class: it is
// counted under its own code rather than crashing the request.
func TestMetricsCountAStatusPastTheClassesByItself(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := middleware.NewMetrics(reg)
	get(m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(600) })), "/")
	want := `
# HELP gateway_requests_total Requests handled by the gateway.
# TYPE gateway_requests_total counter
gateway_requests_total{class="600",route="unmatched",upstream=""} 1
`
	assert.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), "gateway_requests_total"))
}

func TestMetricsRouteReportedBySetRoute(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := middleware.NewMetrics(reg)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		middleware.SetRoute(r, r.Pattern) // a router inside the chain reports its route
		io.WriteString(w, "user")
	})
	// Timeout hands the mux a copy of the request, so Metrics cannot see
	// the Pattern the mux sets on it: only the Record carries it back.
	h := onion.Chain{m.Wrap, middleware.Timeout(time.Hour)}.Then(mux)
	get(h, "/users/7")
	want := `
# HELP gateway_requests_total Requests handled by the gateway.
# TYPE gateway_requests_total counter
gateway_requests_total{class="2xx",route="GET /users/{id}",upstream=""} 1
`
	assert.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), "gateway_requests_total"))
}

func TestMetricsRegistriesAreIndependent(t *testing.T) {
	a, b := prometheus.NewRegistry(), prometheus.NewRegistry()
	ma, _ := middleware.NewMetrics(a), middleware.NewMetrics(b)
	get(ma.Wrap(&ok{}), "/")
	n, err := testutil.GatherAndCount(b, "gateway_requests_total")
	require.NoError(t, err)
	assert.Zero(t, n)
	n, err = testutil.GatherAndCount(a, "gateway_requests_total")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

func TestMetricsHandlerFiltersByName(t *testing.T) {
	m := middleware.NewMetrics(prometheus.NewRegistry())
	get(m.Wrap(&ok{}), "/")
	body := get(m.Handler(), "/metrics?name=gateway_requests_total").Body.String()
	assert.Contains(t, body, "gateway_requests_total{")
	assert.NotContains(t, body, "gateway_request_duration_seconds")
	assert.Contains(t, get(m.Handler(), "/metrics").Body.String(), "gateway_request_duration_seconds_bucket")
}

// A label value must be UTF-8 (client_golang panics on one that is not),
// but SetUpstream and SetRoute take any string: a target whose host has a
// %ff in it decodes to a byte that is not. The request is still counted,
// with U+FFFD for the bad bytes, and the layer does not panic on every
// request to that upstream.
func TestMetricsLabelsThatAreNotUTF8(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := middleware.NewMetrics(reg)
	h := m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		middleware.SetRoute(r, "r\xfe")
		middleware.SetUpstream(r, "a\xffb:1")
	}))
	for range 2 {
		assert.NotPanics(t, func() { get(h, "/") })
	}
	want := `
# HELP gateway_requests_total Requests handled by the gateway.
# TYPE gateway_requests_total counter
gateway_requests_total{class="2xx",route="r�",upstream="a�b:1"} 2
`
	assert.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), "gateway_requests_total"))

	m.Retain(func(string) bool { return false })
	n, err := testutil.GatherAndCount(reg, "gateway_requests_total")
	require.NoError(t, err)
	assert.Zero(t, n, "Retain deletes the series it made")
}
