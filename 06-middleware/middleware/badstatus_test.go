package middleware_test

import (
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/06-middleware/onion"
)

// TestAStatusNetHTTPRefusesIsA500: net/http panics on a status it cannot
// send (not three digits), before anything goes out. A proxy passes its
// upstream's status on as it is, and Go's HTTP/2 client takes any number
// in an upstream's :status, so a bad upstream can hand the gateway such a
// code. Nothing was sent: the client gets Recover's 500, and the access
// log and the metrics say so, not an "aborted" response with a status
// that never went out.
func TestAStatusNetHTTPRefusesIsA500(t *testing.T) {
	var logs logBuffer
	reg := prometheus.NewRegistry()
	m := middleware.NewMetrics(reg)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(onion.Chain{
		middleware.Recover(quiet),
		middleware.AccessLog(slog.New(middleware.NewTextHandler(&logs, nil))),
		m.Wrap,
	}.Then(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(1000) // what an HTTP/2 upstream's ":status: 1000" becomes
	})))
	defer srv.Close()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)

	if resp, err := http.Get(srv.URL); assert.NoError(t, err, "the client gets an answer, not a cut connection") {
		resp.Body.Close()
		assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	}

	assert.Contains(t, logs.String(), " status=500 ")
	assert.NotContains(t, logs.String(), "aborted")
	want := `
# HELP gateway_requests_total Requests handled by the gateway.
# TYPE gateway_requests_total counter
gateway_requests_total{class="5xx",route="unmatched",upstream=""} 1
`
	assert.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), "gateway_requests_total"))
}
