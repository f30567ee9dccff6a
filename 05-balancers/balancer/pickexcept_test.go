package balancer_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/05-balancers/balancer"
)

// excepter is what every balancer of this package offers beside Pick.
type excepter interface {
	PickExcept(skip func(id string) bool) (string, error)
}

// TestPickExceptSkipsWhatItIsTold: every balancer can pick a backend
// other than those a retry has tried, also where its own Pick would go
// on returning one of them (smooth weighted round robin with weights 20
// to 1, a hash whose keys mostly land on the heavy backend); it picks only
// backends that are up, the least loaded for its weight first, and counts
// its pick.
func TestPickExceptSkipsWhatItIsTold(t *testing.T) {
	for _, name := range balancer.Names() {
		t.Run(name, func(t *testing.T) {
			now := time.Unix(1e9, 0)
			b, err := balancer.New(name, balancer.Options{Health: balancer.Health{MaxFails: 1, FailTimeout: time.Second}, Now: func() time.Time { return now }})
			require.NoError(t, err)
			for _, id := range []string{"heavy", "light", "other"} {
				w := 1
				if id == "heavy" {
					w = 20
				}
				require.NoError(t, b.Add(id, w))
			}
			e, ok := b.(excepter)
			require.True(t, ok, "%s has PickExcept", name)
			skipping := func(ids ...string) func(string) bool {
				return func(id string) bool { return slices.Contains(ids, id) }
			}

			id, err := e.PickExcept(skipping())
			require.NoError(t, err)
			assert.Equal(t, "heavy", id, "nothing skipped, all idle: the first added")
			b.Report(id, balancer.Success)

			id, err = e.PickExcept(skipping("heavy"))
			require.NoError(t, err)
			assert.Equal(t, "light", id, "the first added of the idle backends left")
			id2, err := e.PickExcept(skipping("heavy"))
			require.NoError(t, err)
			assert.Equal(t, "other", id2, "light has a request in flight: the pick was counted")
			b.Report(id, balancer.Success)
			b.Report(id2, balancer.Success)

			// The load is per unit of weight: heavy holding 2 requests of
			// its 20 is less loaded than light holding 1 of its 1.
			held := []string{}
			for _, skip := range [][]string{{"light", "other"}, {"light", "other"}, {"heavy", "other"}} {
				id, err := e.PickExcept(skipping(skip...))
				require.NoError(t, err)
				held = append(held, id)
			}
			require.Equal(t, []string{"heavy", "heavy", "light"}, held)
			id, err = e.PickExcept(skipping("other"))
			require.NoError(t, err)
			assert.Equal(t, "heavy", id, "heavy (2 in flight, weight 20) against light (1 in flight, weight 1)")
			for _, id := range append(held, id) {
				b.Report(id, balancer.Success)
			}

			b.Report("light", balancer.Failure) // max_fails 1: down for a second
			id, err = e.PickExcept(skipping("heavy"))
			require.NoError(t, err)
			assert.Equal(t, "other", id, "a backend passive health took down is not picked")
			b.Report(id, balancer.Success)

			// heavy and other are up: the message must not say every
			// backend is down (it did, sending a reader to look at two
			// healthy backends), yet still match ErrNoBackend.
			_, err = e.PickExcept(skipping("heavy", "other"))
			assert.True(t, errors.Is(err, balancer.ErrNoBackend), "nothing up and not skipped: %v", err)
			assert.EqualError(t, err, "no backend available: every backend up is skipped", "light down, the two up skipped")
		})
	}
}
