package gateway

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/06-middleware/onion"
)

// refusal is why the gateway answered a request itself, before any
// route's layers: the access log and the metrics are layers of a route,
// so without a word from ServeHTTP these requests went unseen, and a
// scan of ".." paths or a flood of 404s with them.
type refusal int

const (
	refusedConnect    refusal = iota // 501: CONNECT, a forward proxy's job
	refusedTrace                     // 501: TRACE or TRACK
	refusedTarget                    // 400: a request target that is not a path
	refusedUpgrade                   // 400: an Upgrade that names no protocol
	refusedDotSegment                // 400: a "." or ".." segment
	refusedQuery                     // 400: a query that does not parse
	refusedNoRoute                   // 404: no route matches
	refusals                         // how many there are
)

// reasons are the values of the reason label: a fixed set, so that no
// client can add a series by what it sends (a label per method or path
// would be one per string a scanner tries).
var reasons = [refusals]string{"connect", "trace", "not_a_path", "upgrade", "dot_segment", "query", "no_route"}

// unrouted logs and counts the requests the gateway answers before any
// route's layers run. Nothing here is on a routed request's path.
type unrouted struct {
	log    onion.Middleware // the access-log layer, or nil: log.unrouted is false
	counts [refusals]prometheus.Counter
}

// newUnrouted registers gateway_unrouted_requests_total in reg, each
// reason at 0 from the start (a series that appears only at the first
// refusal hides the jump from nothing to one from rate()), and logs
// through logger's access lines if log is true.
func newUnrouted(reg prometheus.Registerer, logger *slog.Logger, log bool) *unrouted {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gateway_unrouted_requests_total",
		Help: "Requests the gateway answered itself before any route, by reason: no_route (404), not_a_path, dot_segment, query, upgrade (400), connect, trace (501).",
	}, []string{"reason"})
	reg.MustRegister(vec)
	u := &unrouted{}
	for i, r := range reasons {
		u.counts[i] = vec.WithLabelValues(r)
	}
	if log {
		u.log = middleware.AccessLog(logger)
	}
	return u
}

// refuse answers r with msg and code, as http.Error does, counts it under
// why, and writes its access line: the access-log layer's own, through
// the same logger (and LogBuffer), with no upstream and no request id.
// The handler it wraps is made for each refusal: a few allocations on
// a path that forwards nothing, and none on a routed request's.
func (u *unrouted) refuse(w http.ResponseWriter, r *http.Request, why refusal, msg string, code int) {
	u.counts[why].Inc()
	answer := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, msg, code) })
	if u.log == nil {
		answer(w, r)
		return
	}
	u.log(answer).ServeHTTP(w, r)
}
