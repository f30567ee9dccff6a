package gateway

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A reload finds each unchanged route's old onion by the route's host and
// path (unique in a file), not by comparing it with every old route: that
// search made a reload of n routes cost n²/2 comparisons, 1 s of CPU
// under the reload lock for 2,000 routes, half a minute for 10,000. The
// cost is counted in allocations (each comparison of two routes makes
// some), not timed: doubling the routes must not much more than double
// what a reload allocates. (That the onions are kept is
// TestChainIsBuiltOncePerRouteAndLoad's.)
func TestReloadCostGrowsLinearlyWithTheRoutes(t *testing.T) {
	srvs := backends(t, 1)
	allocs := func(n int) float64 {
		var b strings.Builder
		b.WriteString(fill("pools: {p: {targets: [\"${A}\"]}}\nroutes:\n", srvs))
		for i := range n {
			fmt.Fprintf(&b, "  - {path: /r%d, pool: p, middleware: [request-id, {name: rate-limit, rate: 10, burst: 5}]}\n", i)
		}
		g, _, _ := start(t, b.String())
		cfg, err := g.load()
		require.NoError(t, err)
		old := g.cur.Load()
		return testing.AllocsPerRun(3, func() {
			if _, err := g.build(cfg, old); err != nil {
				panic(err)
			}
		})
	}
	small, large := allocs(200), allocs(400)
	assert.Less(t, large/small, 2.5, "allocations of a build with 200 routes: %v, with 400: %v", small, large)
}
