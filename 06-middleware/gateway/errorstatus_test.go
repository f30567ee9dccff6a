package gateway

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A backend's error status is an answer, not a failure: passive health
// counts only what did not answer (nginx's "error" and "timeout"), and a
// 500 or 503 is reported as a Success like a 200. Counted as a failure,
// with max_fails 1 (the default) one request for a path the application
// fails on took a healthy backend out for fail_timeout; an application's
// own errors are the breaker's business, on a route that asks for it.
func TestAnErrorStatusIsAnAnswerNotAFailure(t *testing.T) {
	srvs := backends(t, 2)
	_, gw, _ := start(t, fill(`
pools: {p: {balancer: roundrobin, targets: ["${A}", "${B}"]}}
routes: [{pool: p}]
`, srvs))
	// One connection: each request is read once the one before has been
	// answered and reported.
	one := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	defer one.CloseIdleConnections()
	for _, code := range []int{http.StatusInternalServerError, http.StatusServiceUnavailable} {
		r := send(t, one, "GET", gw.URL+"/status/"+strconv.Itoa(code), nil, "")
		assert.Equal(t, code, r.code, "the backend's own answer, passed on")
		first := r.backend
		seen := map[string]int{}
		for range 4 {
			seen[send(t, one, "GET", gw.URL+"/", nil, "").backend]++
		}
		assert.Equal(t, 2, seen[first], "after its %d, %s still gets its share: %v", code, first, seen)
	}
}
