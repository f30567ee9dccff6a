package balancer_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/05-balancers/balancer"
)

// TestPickSkippingKeepsTheSkippedBackendsTurn: weights {a:5, b:1, c:1};
// a is picked, and a retry skipping a goes to b. nginx's loop passes over
// a tried peer before it adds to its current weight, so a's turn is
// neither spent nor gained and the next picks are the ones below. Pick,
// with its pick of a thrown away until it returns another, spends a's
// turn: a c a a a a b a c a a a a b (stage 06 did so before PickSkipping).
// The hash balancers' keyless path is the same round.
func TestPickSkippingKeepsTheSkippedBackendsTurn(t *testing.T) {
	want := strings.Fields("a c a a b a a a c a a b a a")
	for _, name := range []string{"swrr", "chash", "bounded", "maglev"} {
		t.Run(name, func(t *testing.T) {
			b, err := balancer.New(name, balancer.Options{Health: balancer.Health{MaxFails: -1}})
			require.NoError(t, err)
			require.NoError(t, b.Add("a", 5))
			require.NoError(t, b.Add("b", 1))
			require.NoError(t, b.Add("c", 1))
			s, ok := b.(balancer.RoundSkipper)
			require.True(t, ok, "%s is a RoundSkipper", name)

			id, err := b.Pick("")
			require.NoError(t, err)
			require.Equal(t, "a", id)
			b.Report(id, balancer.Success)
			id, err = s.PickSkipping(func(id string) bool { return id == "a" })
			require.NoError(t, err)
			require.Equal(t, "b", id, "the retry skipping a")
			b.Report(id, balancer.Success)

			var got []string
			for range len(want) {
				id, err := b.Pick("")
				require.NoError(t, err)
				b.Report(id, balancer.Success)
				got = append(got, id)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("the picks after the retry (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRoundRobinPickSkippingLeavesTheCursor: a retry skipping a takes the
// first backend from the cursor that is not skipped, and no backend's
// turn: the round goes on from where it was, so b answers the retry and
// then its own turn.
func TestRoundRobinPickSkippingLeavesTheCursor(t *testing.T) {
	b := balancer.NewRoundRobin(balancer.Options{Health: balancer.Health{MaxFails: -1}})
	for _, id := range []string{"a", "b", "c"} {
		require.NoError(t, b.Add(id, 1))
	}
	pick := func(skip func(string) bool) string {
		t.Helper()
		var id string
		var err error
		if skip == nil {
			id, err = b.Pick("")
		} else {
			id, err = b.PickSkipping(skip)
		}
		require.NoError(t, err)
		b.Report(id, balancer.Success)
		return id
	}
	skipA := func(id string) bool { return id == "a" }
	got := []string{pick(nil), pick(skipA)}
	for range 6 {
		got = append(got, pick(nil))
	}
	assert.Equal(t, strings.Fields("a b b c a b c a"), got)

	// Cursor at a (c was just picked), a skipped: b, and a keeps its turn.
	got = []string{pick(nil), pick(nil), pick(skipA), pick(nil)}
	assert.Equal(t, strings.Fields("b c b a"), got)
}

// TestPickSkippingSaysWhyThereIsNoPick: every backend up skipped, or none
// up, is ErrNoBackend with a message that tells them apart.
func TestPickSkippingSaysWhyThereIsNoPick(t *testing.T) {
	for _, name := range []string{"swrr", "roundrobin", "chash", "bounded", "maglev"} {
		t.Run(name, func(t *testing.T) {
			now := time.Unix(1e9, 0)
			b, err := balancer.New(name, balancer.Options{Health: balancer.Health{MaxFails: 1, FailTimeout: time.Second}, Now: func() time.Time { return now }})
			require.NoError(t, err)
			s := b.(balancer.RoundSkipper)
			_, err = s.PickSkipping(func(string) bool { return false })
			assert.EqualError(t, err, "no backend available: the pool is empty")
			require.NoError(t, b.Add("a", 1))
			require.NoError(t, b.Add("b", 1))
			_, err = s.PickSkipping(func(string) bool { return true })
			assert.EqualError(t, err, "no backend available: every backend up is skipped")
			b.Report("a", balancer.Failure)
			b.Report("b", balancer.Failure)
			_, err = s.PickSkipping(func(string) bool { return false })
			assert.EqualError(t, err, "no backend available: every backend is down")
			assert.True(t, errors.Is(err, balancer.ErrNoBackend))
		})
	}
}
