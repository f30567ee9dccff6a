package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/01-backends/deadaddr"
)

// A failed attempt is counted against its backend, and an attempt after
// the first of a request as a retry, in the admin listener's metrics: a
// retry that succeeds hides a failing backend from the client and from
// the requests' own metrics, not from these. Here round robin sends
// every other GET first to the dead backend, then, retried, to the good
// one (a retry takes no turn of the round: the next GET has the good
// one's), so four GETs make two failures and two retries.
func TestFailuresAndRetriesAreInTheMetrics(t *testing.T) {
	good, _ := counted(t, "B")
	dead := deadaddr.URL(t)
	text := strings.NewReplacer("${X}", dead, "${Y}", good.URL).Replace(retryPool)
	g, gw, src := start(t, text)
	admin := httptest.NewServer(g.Admin())
	defer admin.Close()

	for range 4 {
		r := send(t, http.DefaultClient, "GET", gw.URL+"/", nil, "")
		assert.Equal(t, 200, r.code, r.body)
		assert.Equal(t, "B", r.backend)
	}
	m := metrics(t, admin.URL)
	assert.Contains(t, m, `gateway_upstream_failures_total{pool="p",target="`+dead+`"} 2`)
	assert.Contains(t, m, `gateway_upstream_failures_total{pool="p",target="`+good.URL+`"} 0`)
	assert.Contains(t, m, `gateway_retries_total{pool="p"} 2`)

	// Read from the pools in use at each scrape: a pool a reload rebuilds
	// starts again from zero, and one it removes is no longer exported.
	src.set(strings.Replace(text, "tries: 3", "tries: 2", 1))
	assert.NoError(t, g.Reload())
	m = metrics(t, admin.URL)
	assert.Contains(t, m, `gateway_upstream_failures_total{pool="p",target="`+dead+`"} 0`, "a rebuilt pool")
	assert.Contains(t, m, `gateway_retries_total{pool="p"} 0`, "a rebuilt pool")
	src.set(strings.NewReplacer("  p:", "  q:", "pool: p}", "pool: q}").Replace(text))
	assert.NoError(t, g.Reload())
	m = metrics(t, admin.URL)
	assert.NotContains(t, m, `pool="p"`, "a removed pool")
	assert.Contains(t, m, `gateway_retries_total{pool="q"} 0`)
}
