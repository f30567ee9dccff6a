package balancer_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/05-balancers/balancer"
)

// TestUnpickCountsNoOutcome: a pick that is not used (a retry offered a
// backend it tried already) is undone with Unpick, which gives back its
// in-flight count and counts nothing else: a probe of a down backend,
// undone, does not bring it back, where a Report of Success would.
func TestUnpickCountsNoOutcome(t *testing.T) {
	type unpicker interface {
		PickExcept(skip func(id string) bool) (string, error)
		Unpick(id string)
	}
	none := func(string) bool { return false }
	for _, name := range balancer.Names() {
		t.Run(name, func(t *testing.T) {
			now := time.Unix(1e9, 0)
			b, err := balancer.New(name, balancer.Options{Health: balancer.Health{MaxFails: 1, FailTimeout: time.Second}, Now: func() time.Time { return now }})
			require.NoError(t, err)
			require.NoError(t, b.Add("a", 1))
			require.NoError(t, b.Add("b", 1))
			u, ok := b.(unpicker)
			require.True(t, ok, "%s has Unpick", name)

			id, err := u.PickExcept(none)
			require.NoError(t, err)
			require.Equal(t, "a", id, "both idle: the first added")
			u.Unpick(id)
			id, err = u.PickExcept(none)
			require.NoError(t, err)
			assert.Equal(t, "a", id, "a is idle again: Unpick gave back its in-flight count")
			b.Report(id, balancer.Failure) // max_fails 1: a is down for a second

			now = now.Add(2 * time.Second)
			id, err = u.PickExcept(func(id string) bool { return id == "b" })
			require.NoError(t, err)
			require.Equal(t, "a", id, "fail_timeout has passed: a probe of a")
			u.Unpick(id)
			_, err = u.PickExcept(func(id string) bool { return id == "b" })
			assert.ErrorIs(t, err, balancer.ErrNoBackend, "the probe was not used: a is not back")
		})
	}
}

// TestPoolInFlightFollowsEveryPeer: the pool's count of requests in
// flight, which bounded loads takes as the paper's load, is the sum of
// its peers' counts through picks, unpicks, reports (stray and repeated
// ones too) and removals. An Unpick that gave back the peer's count only
// would let the total drift up with every unused retry pick, loosening
// the bound, and passed every other test.
func TestPoolInFlightFollowsEveryPeer(t *testing.T) {
	p := balancer.NewPool(balancer.Options{})
	require.NoError(t, p.Add("a", 1))
	require.NoError(t, p.Add("b", 1))
	require.NoError(t, p.Add("c", 1))
	now := p.Now()
	sum := func() int {
		n := 0
		for _, peer := range p.Peers {
			n += peer.InFlight
		}
		return n
	}
	step := func(what string, want int, do func()) {
		t.Helper()
		do()
		assert.Equal(t, want, sum(), "%s: the peers' counts", what)
		assert.Equal(t, want, p.InFlight(), "%s: the pool's count, the sum of the peers'", what)
		assert.Equal(t, want, p.UpInFlight(now), "%s: the count on the peers up (all are)", what)
	}
	step("three picks", 3, func() { p.Picked(0, now); p.Picked(1, now); p.Picked(0, now) })
	step("a pick of a undone", 2, func() { p.Unpick("a") })
	step("b reported", 1, func() { p.Report("b", balancer.Success) })
	step("b reported again, with nothing in flight", 1, func() { p.Report("b", balancer.Success) })
	step("b undone, with nothing in flight", 1, func() { p.Unpick("b") })
	step("a report and an unpick for no backend", 1, func() { p.Report("ghost", balancer.Success); p.Unpick("ghost") })
	step("c picked twice, then removed", 1, func() { p.Picked(2, now); p.Picked(2, now); require.NoError(t, p.Remove("c")) })
	step("a reported", 0, func() { p.Report("a", balancer.Success) })
}
