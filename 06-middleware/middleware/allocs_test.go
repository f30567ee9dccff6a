package middleware_test

import (
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/06-middleware/onion"
)

// The performance target's part that does not depend on the machine: the
// default stack (Default's six layers, as benchmarked) adds at most 10
// allocations per request over the bare handler, in both onions, and the
// slice onion allocates no more than the chained one (its Context is
// pooled, its adapters built once).
func TestDefaultStackAllocations(t *testing.T) {
	// AllocsPerRun truncates the average: under -race, where a sync.Pool
	// drops a quarter of what is put back, the pooled Context costs a
	// quarter of an allocation per request and does not show.
	allocs := func(h http.Handler) float64 { return testing.AllocsPerRun(1000, server(h)) }
	bare := allocs(hello)
	chained := allocs(benchStack(t, false).Chain().Then(hello))
	sliced := allocs(router(benchStack(t, false).Handlers()))
	assert.LessOrEqual(t, chained-bare, 10.0, "allocations the chained default stack adds per request")
	assert.LessOrEqual(t, sliced-bare, 10.0, "allocations the sliced default stack adds per request")
	assert.LessOrEqual(t, sliced, chained, "the slice onion allocates more per request than the chained one")
}

// The breaker sits inside Timeout, which wraps the writer, so it cannot
// share the access log's status writer: it takes the Record's second one,
// and adds no allocation to a request.
func TestBreakerInsideATimeoutAllocatesNothing(t *testing.T) {
	allocs := func(layers ...onion.Middleware) float64 {
		return testing.AllocsPerRun(1000, server(onion.Chain(layers).Then(hello)))
	}
	log := middleware.AccessLog(slog.New(middleware.NewTextHandler(io.Discard, nil)))
	without := allocs(middleware.RequestID(nil), log, middleware.Timeout(time.Minute))
	with := allocs(middleware.RequestID(nil), log, middleware.Timeout(time.Minute), middleware.NewBreakers(middleware.BreakerConfig{}).Wrap)
	assert.Equal(t, without, with, "allocations the breaker adds per request")
}
