package balancer_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/05-balancers/balancer"
	"github.com/gocourse/gateway/05-balancers/balancertest"
)

// TestRetryPicksAreSafeForConcurrentUse: a gateway's retries call
// PickExcept, PickNext, PickSkipping and Unpick from many requests at
// once, beside Pick, Report, time passing and backends coming and going.
// The conformance suite's ConcurrentPicks exercises only the Balancer
// interface, so without this test a PickExcept, PickNext, PickSkipping
// or Unpick that forgot the lock passed every test of the stage. It can fail only under
// -race, as CI runs it: a data race is silent otherwise.
func TestRetryPicksAreSafeForConcurrentUse(t *testing.T) {
	type retrier interface {
		PickExcept(skip func(id string) bool) (string, error)
		Unpick(id string)
	}
	for _, name := range balancer.Names() {
		t.Run(name, func(t *testing.T) {
			clock := balancertest.NewClock(time.Unix(1e9, 0))
			b, err := balancer.New(name, balancer.Options{Health: balancer.Health{MaxFails: 2, FailTimeout: time.Second}, Now: clock.Now})
			require.NoError(t, err)
			ids := []string{"a", "b", "c", "d"}
			for i, id := range ids {
				require.NoError(t, b.Add(id, i+1))
			}
			r, ok := b.(retrier)
			require.True(t, ok, "%s has PickExcept and Unpick", name)
			next, _ := b.(balancer.NextPicker)      // nil for those without PickNext
			skipper, _ := b.(balancer.RoundSkipper) // nil for those without PickSkipping
			known := append(slices.Clone(ids), "extra")
			notA := func(id string) bool { return id == "a" }

			var wg sync.WaitGroup
			for g := range 4 {
				wg.Go(func() {
					for i := range 200 {
						key := fmt.Sprintf("k%d-%d", g, i%17)
						var id string
						var err error
						switch {
						case i%4 == 1:
							id, err = r.PickExcept(notA)
						case i%8 == 2 && next != nil:
							id, err = next.PickNext(key, notA)
						case i%4 == 2 && skipper != nil:
							id, err = skipper.PickSkipping(notA) // a retry without a key
						case i%4 == 3:
							id, err = b.Pick("") // a request without a key
						default:
							id, err = b.Pick(key)
						}
						if errors.Is(err, balancer.ErrNoBackend) {
							continue // failures took every backend out, for now
						}
						if !assert.NoError(t, err) || !assert.Contains(t, known, id) {
							return
						}
						switch i % 3 {
						case 0:
							r.Unpick(id)
						case 1:
							b.Report(id, balancer.Failure)
						default:
							b.Report(id, balancer.Success)
						}
					}
				})
			}
			wg.Go(func() { // time passes, and the pool changes
				for range 50 {
					clock.Advance(300 * time.Millisecond)
					if !assert.NoError(t, b.Add("extra", 2)) || !assert.NoError(t, b.Remove("extra")) {
						return
					}
				}
			})
			wg.Wait()
		})
	}
}
