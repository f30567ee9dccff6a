package balancer_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/05-balancers/balancer"
)

// TestRoundRobinKeepsItsTurnAcrossARemove: round robin gives each backend
// its turn in the order they were added, and removing one must not cost
// another its turn. The cursor is a position in the pool, and a removal
// moves every later backend down one: a cursor left where it was then
// points one backend too far. With a, b, c, d picked a, b and then a
// removed, the next turn is c's; the unadjusted cursor gave d, and c
// waited a whole round (c's turn skipped); with b removed after a, b, c,
// the next is d, and an unadjusted cursor gave a, skipping d.
func TestRoundRobinKeepsItsTurnAcrossARemove(t *testing.T) {
	for _, tc := range []struct {
		before  int    // picks before the removal
		removed string // the backend removed
		want    string // the picks after it
	}{
		{2, "a", "c d b c d b"}, // removed before the cursor
		{3, "b", "d a c d a c"}, // removed before the cursor
		{1, "b", "c d a c d a"}, // the next one in turn removed
		{2, "d", "c a b c a b"}, // removed after the cursor
		{4, "d", "a b c a b c"}, // the last one picked removed
	} {
		b := balancer.NewRoundRobin(balancer.Options{})
		for _, id := range []string{"a", "b", "c", "d"} {
			require.NoError(t, b.Add(id, 1))
		}
		inTurn(t, b, tc.before)
		require.NoError(t, b.Remove(tc.removed))
		got := inTurn(t, b, 6)
		want := strings.Fields(tc.want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("a, b, c, d in turn, %d picks, then %s removed (-want +got):\n%s", tc.before, tc.removed, diff)
		}
	}
}
