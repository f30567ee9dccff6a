package gateway

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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
