package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRouteTimeoutCountsAgainstTheBackend: a backend that never answers,
// behind a route whose timeout (50ms) fires long before the pool's
// response_header_timeout (1h). The request's context then ends with
// DeadlineExceeded, which is the backend's fault (nginx counts a timeout
// as a failure), not Canceled, which is a client that went away. After
// max_fails such timeouts passive health takes the backend out, and every
// request goes to the other one.
func TestRouteTimeoutCountsAgainstTheBackend(t *testing.T) {
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // answers nothing until the gateway gives up, or the test ends
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hung.Close)
	t.Cleanup(func() { close(release) }) // runs first: cleanups run last-in first-out
	good := backends(t, 2)[1]            // B
	_, gw, _ := start(t, strings.NewReplacer("${X}", hung.URL, "${Y}", good.URL).Replace(`
pools:
  p:
    balancer: roundrobin
    passive: {max_fails: 2, fail_timeout: 1h}
    retry: {tries: 1}
    transport: {response_header_timeout: 1h}
    targets: ["${X}", "${Y}"]
routes:
  - path: /
    pool: p
    middleware:
      - {name: timeout, after: 50ms}
`))

	var codes []int
	for range 4 { // round robin: hung, B, hung, B
		r := send(t, http.DefaultClient, "GET", gw.URL, nil, "")
		codes = append(codes, r.code)
	}
	assert.Equal(t, []int{http.StatusGatewayTimeout, 200, http.StatusGatewayTimeout, 200}, codes,
		"the hung backend's requests time out at the route's 50ms")

	count := map[string]int{}
	for range 6 {
		r := send(t, http.DefaultClient, "GET", gw.URL, nil, "")
		count[r.backend]++
	}
	assert.Equal(t, map[string]int{"B": 6}, count,
		"two timeouts (max_fails 2) take the hung backend out; reported as Success they never would")
}
