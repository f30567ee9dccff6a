package balancer_test

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/05-balancers/balancer"
)

// TestRoundRobinAndRandomIgnoreWeights: the chapter says both ignore
// weights (the Balancer interface: "Balancers that do not use weights
// accept and ignore them"). With weights 5, 1, 1, round robin still takes
// a, b, c in turn, and random still gives each a third; honouring the
// weights would give a five sevenths, which the conformance suite, run
// without its Weighted trait for these two, would not notice.
func TestRoundRobinAndRandomIgnoreWeights(t *testing.T) {
	withWeights := func(name string) balancer.Balancer {
		b, err := balancer.New(name, balancer.Options{Rand: rand.NewPCG(1, 2)})
		require.NoError(t, err)
		require.NoError(t, b.Add("a", 5))
		require.NoError(t, b.Add("b", 1))
		require.NoError(t, b.Add("c", 1))
		return b
	}
	rr := withWeights("roundrobin")
	picks := inTurn(t, rr, 9)
	if diff := cmp.Diff([]string{"a", "b", "c", "a", "b", "c", "a", "b", "c"}, picks); diff != "" {
		t.Errorf("round robin with weights 5, 1, 1 (-want +got):\n%s", diff)
	}
	c := idlePicks(t, withWeights("random"), 30000)
	for _, id := range []string{"a", "b", "c"} {
		assert.InDelta(t, 10000, c[id], 400, "random with weights 5, 1, 1: %v", c)
	}
}
