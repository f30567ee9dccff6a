// Package exercise holds the chapter's exercises. Each function below is
// a starting point that compiles but does not do its job yet; replace its
// body, then check your work with
//
//	go test -tags exercise ./06-middleware/exercise
//
// which fails until every exercise is done (-run ResponseTime, say, checks
// one). The checks are in check.go; the course's own answers pass them
// (answers_test.go), so every check can be passed.
package exercise

import (
	"net/http"
	"time"

	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/06-middleware/onion"
)

// Exercise 1. ResponseTime adds the header X-Response-Time to every
// response: the time from the request's arrival to the moment the handler
// sends its header, in whole milliseconds, such as "25ms". now is the
// clock. Hint: by the time next.ServeHTTP returns the header has gone, so
// you need a ResponseWriter of your own, with an Unwrap method.
func ResponseTime(now func() time.Time) onion.Middleware {
	return func(next http.Handler) http.Handler {
		return next // TODO: your code here
	}
}

// Exercise 2. MethodFilter lets through only requests whose method is in
// allowed, and answers any other with 405 Method Not Allowed and an Allow
// header listing allowed (comma-separated, in the order given).
func MethodFilter(allowed ...string) onion.Middleware {
	return func(next http.Handler) http.Handler {
		return next // TODO: your code here
	}
}

// Exercise 3. PerClient returns the default stack for o, changed so that
// the rate limit applies per authenticated client rather than per IP
// address: two clients behind one address (an office's NAT) each get
// their own bucket. o.RateLimiter was made with middleware.ClientOrIP as
// its Key. Keep recover, request-id and access-log outermost, so that a
// request refused with 401 or 429 is still logged. Hint: where must the rate limit go for ClientOrIP to know the
// client? What do you lose by moving it?
func PerClient(o middleware.Options) middleware.Stack {
	return middleware.Default(o) // TODO: your code here
}
