package middleware

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
)

// A series is made and stored in one step with respect to Retain. Made
// outside the lock, a request's series could be stored after a Retain had
// deleted its metrics from Prometheus: the map then held metrics no
// longer exported, and every request of those labels after, the upstream
// back in a later configuration, counted where no scrape would see it
// (Retain keeps the series of an upstream in use, so nothing mended it).
// Here, while one request is making its series, another of the same
// labels makes and stores it, and a reload removes the upstream.
func TestMetricsSeriesMadeAcrossARetainIsExported(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	l := labels{"r", "2xx", "b:1"}
	once := true
	m.beforeWrite = func() {
		if once {
			once = false
			m.seriesFor(l)                               // another request, the same labels
			m.Retain(func(string) bool { return false }) // a reload removes b:1
		}
	}
	m.seriesFor(l).requests.Inc()
	m.seriesFor(l).requests.Inc() // b:1 back in the configuration, say
	want := `# HELP gateway_requests_total Requests handled by the gateway.
# TYPE gateway_requests_total counter
gateway_requests_total{class="2xx",route="r",upstream="b:1"} 2
`
	assert.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), "gateway_requests_total"))
}
