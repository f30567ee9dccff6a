package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A request a layer inside metrics refuses (auth's 401) never reaches the
// proxy, which is where the route used to be recorded: it was counted as
// route="unmatched", and a route's 401s and 429s could not be told apart
// from another's. The route is known before its first layer runs.
func TestARefusedRequestIsCountedUnderItsRoute(t *testing.T) {
	srvs := backends(t, 1)
	g, gw, _ := start(t, fill(`
pools:
  p: {targets: ["${A}"]}
routes:
  - path: /private
    pool: p
    middleware:
      - metrics
      - name: auth
        api_keys: [{id: ann, key: k1}]
`, srvs))
	admin := httptest.NewServer(g.Admin())
	defer admin.Close()

	code, _ := get(t, gw.URL+"/private/")
	assert.Equal(t, http.StatusUnauthorized, code)
	want := `gateway_requests_total{class="4xx",route="/private",upstream=""} 1`
	var scraped string
	if !assert.Eventually(t, func() bool { scraped = metrics(t, admin.URL); return strings.Contains(scraped, want) }, 10*time.Second, time.Millisecond) {
		assert.Contains(t, scraped, want)
	}
}
