package middleware_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
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
