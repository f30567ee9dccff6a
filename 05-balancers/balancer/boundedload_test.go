package balancer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gocourse/gateway/05-balancers/ring"
	"github.com/stretchr/testify/require"
)

// TestBoundedLoadNeverAboveCapacity checks the paper's rule under churn,
// with its own count of the requests in flight: a few hot keys, requests
// that finish in random order, failures that take backends down, time
// that brings them back, backends added and removed, load factors from 1
// to 2 and few or many virtual nodes. Every live backend's capacity is
// ceil(c * load * weight / live weight), where load is the requests in
// flight on the backends up with the new one, and live weight the weight
// of the backends up;
// each pick must be the first live backend clockwise from the key that is
// below its capacity (so a key keeps its backend while that one is not
// full), and no pick may put its backend above its capacity. A quarter of
// the requests are then retried, as stage 06 does when an attempt fails:
// the attempt ends, and PickExcept, skipping the backend tried, must take
// the least loaded for its weight of the others up and below their
// capacity (the first added on a tie), or none when they are all full.
func TestBoundedLoadNeverAboveCapacity(t *testing.T) {
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 3))
		retry := rand.New(rand.NewPCG(seed, 5)) // apart, so that r draws as before
		clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		cPercent := 100 + r.IntN(101) // c from 1.00 to 2.00
		b, err := NewBoundedLoad(Options{LoadFactor: float64(cPercent) / 100, Now: clock.Now, Replicas: 1 + r.IntN(200)})
		require.NoError(t, err)
		weight := map[string]int{}
		add := func() {
			id := fmt.Sprint("p", len(weight))
			weight[id] = 1 + r.IntN(5)
			require.NoError(t, b.Add(id, weight[id]))
		}
		for range 1 + r.IntN(15) {
			add()
		}
		var held []string // picked and not reported, removed backends' too
		inFlight := func(id string) (n int) {
			for _, h := range held {
				if h == id {
					n++
				}
			}
			return n
		}
		var live, load int
		measure := func() {
			live = b.pool.UpWeight(clock.now)
			load = 1 // with the request being placed
			for _, id := range held {
				if i, ok := b.pool.Index(id); ok && b.pool.Up(i, clock.now) {
					load++ // held by a live backend: a ball in one of the paper's bins
				}
			}
		}
		capacity := func(id string) int { // ceil(c*load*w/live), c = cPercent/100
			return (cPercent*load*weight[id] + 100*live - 1) / (100 * live)
		}
		for step := range 2000 {
			measure()
			key := fmt.Sprint("hot-", r.IntN(4))
			want, start := "", b.ring.Search(key)
			for k := 0; live > 0 && k < b.ring.Len(); k++ {
				id := b.ring.Node(start + k)
				if i, _ := b.pool.Index(id); b.pool.Up(i, clock.now) && inFlight(id) < capacity(id) {
					want = id
					break
				}
			}
			id, err := b.Pick(key)
			if live == 0 {
				require.ErrorIs(t, err, ErrNoBackend, "seed %d step %d", seed, step)
				clock.now = clock.now.Add(11 * time.Second)
				continue
			}
			require.NoError(t, err, "seed %d step %d", seed, step)
			require.Equal(t, want, id, "seed %d step %d: key %q went to %s, not to the first live backend clockwise below its capacity", seed, step, key, id)
			held = append(held, id)
			require.LessOrEqual(t, inFlight(id), capacity(id), "seed %d step %d: %s (weight %d) holds more than ceil(%d%% of %d requests * %d / live weight %d)",
				seed, step, id, weight[id], cPercent, load, weight[id], live)

			if retry.IntN(4) == 0 {
				b.Report(id, Success) // the attempt on id is over
				held = held[:len(held)-1]
				measure()
				want := ""
				for i := range b.pool.Peers {
					other := b.pool.Peers[i].ID
					if other == id || !b.pool.Up(i, clock.now) || inFlight(other) >= capacity(other) {
						continue
					}
					if want == "" || inFlight(other)*weight[want] < inFlight(want)*weight[other] {
						want = other
					}
				}
				again, err := b.PickExcept(func(tried string) bool { return tried == id })
				if want == "" {
					require.ErrorIs(t, err, ErrNoBackend, "seed %d step %d: a retry skipping %s, every other backend down or full, went to %s", seed, step, id, again)
				} else {
					require.NoError(t, err, "seed %d step %d", seed, step)
					require.Equal(t, want, again, "seed %d step %d: a retry skipping %s did not go to the least loaded backend below its capacity", seed, step, id)
					held = append(held, again)
					require.LessOrEqual(t, inFlight(again), capacity(again), "seed %d step %d: a retry put %s above its capacity", seed, step, again)
				}
			}

			for len(held) > 0 && r.IntN(2) == 0 { // on average one finishes per pick
				k := r.IntN(len(held))
				o := Success
				if r.Float64() < 0.01 {
					o = Failure
				}
				b.Report(held[k], o)
				held = slices.Delete(held, k, k+1)
			}
			switch x := r.Float64(); {
			case x < 0.003:
				add()
			case x < 0.006 && len(b.pool.Peers) > 1:
				require.NoError(t, b.Remove(b.pool.Peers[r.IntN(len(b.pool.Peers))].ID))
			case x < 0.01:
				clock.now = clock.now.Add(time.Duration(r.IntN(20)) * time.Second)
			}
		}
	}
}

// capacity rounds up a remainder of one millionth, and saturates at
// math.MaxInt rather than overflow, both where the 128-bit quotient needs
// more than 64 bits (bits.Div64 would panic) and where it fits in 64 bits
// but not in an int (the conversion would make it negative).
func TestCapacityIsExactAndSaturates(t *testing.T) {
	for _, tc := range []struct {
		cMicro                   uint64
		load, weight, liveWeight int
		want                     int
	}{
		{1_000_001, 1, 1, 1, 2}, // 1.000001, rounded up
		{1_000_000, 1, 1, 1, 1},
		{1_250_000, 4, 1, 1, 5},
		{1e12, math.MaxInt, MaxWeight, 1, math.MaxInt},             // quotient above 2^64
		{1e12, 10_000_000_000_000, 1, 1, math.MaxInt},              // 10^19: above MaxInt, below 2^64
		{1e12, 9_000_000_000_000, 1, 1, 9_000_000_000_000_000_000}, // just below MaxInt
	} {
		got := capacity(tc.cMicro, tc.load, tc.weight, tc.liveWeight)
		require.Equal(t, tc.want, got, "capacity(%d, %d, %d, %d)", tc.cMicro, tc.load, tc.weight, tc.liveWeight)
	}
}

// Options.Replicas is taken as given: 1 means one point per unit of
// weight, not the default; only 0 means ring.DefaultReplicas.
func TestReplicasAreTakenAsGiven(t *testing.T) {
	for replicas, want := range map[int]int{1: 1 + 3, 0: ring.DefaultReplicas * 4} {
		chash, err := NewConsistentHash(Options{Replicas: replicas})
		require.NoError(t, err)
		bounded, err := NewBoundedLoad(Options{Replicas: replicas})
		require.NoError(t, err)
		for _, b := range []Balancer{chash, bounded} {
			require.NoError(t, b.Add("a", 1))
			require.NoError(t, b.Add("b", 3))
		}
		require.Equal(t, want, chash.ring.Len(), "chash, replicas %d: points for weights 1 and 3", replicas)
		require.Equal(t, want, bounded.ring.Len(), "bounded, replicas %d: points for weights 1 and 3", replicas)
	}
}

// TestBoundedLoadCapHoldsWithoutAKey checks that a request with no key,
// spread by smooth weighted round robin (see unkeyed), is bounded too:
// the round is among the live backends below their capacity, as nginx's
// round skips a server at its max_conns. Weights {a:1, b:1}, c = 1.25: a
// hot key of a takes 4 of its first 5 requests (a's capacity for the
// fifth, ceil(1.25 × 5/2) = 4, is full, so the fifth goes to b). Once b's
// request ends, a keyless request makes the load 5 again: a holds its
// capacity, 4, and the round, which would give a its first turn, must
// give the request to b.
func TestBoundedLoadCapHoldsWithoutAKey(t *testing.T) {
	b, err := NewBoundedLoad(Options{})
	require.NoError(t, err)
	require.NoError(t, b.Add("a", 1))
	require.NoError(t, b.Add("b", 1))
	hot := ""
	for i := 0; hot == ""; i++ {
		if k := fmt.Sprint("user-", i); b.ring.Node(b.ring.Search(k)) == "a" {
			hot = k
		}
	}
	var got []string
	for range 5 {
		id, err := b.Pick(hot)
		require.NoError(t, err)
		got = append(got, id)
	}
	require.Equal(t, []string{"a", "a", "b", "a", "a"}, got, "the hot key fills a to its capacity, and its third request goes to b")
	b.Report("b", Success)

	id, err := b.Pick("")
	require.NoError(t, err)
	require.Equal(t, "b", id, "a keyless request went to a, which already held its capacity of ceil(1.25 × 5/2) = 4 requests")
	i, _ := b.pool.Index("a")
	require.Equal(t, 4, b.pool.Peers[i].InFlight)
}

// TestBoundedLoadCountsTheLiveBackendsLoad: the paper's capacity is
// ceil(c * m / n), where m counts the balls in the n bins (with the one
// being placed). The bins are the live backends, so m is the requests
// they hold: requests still held by a backend that has gone down are in
// none of them. Counted in, they raise every live backend's capacity, and
// a hot key piles onto its backend. Three backends of weight 1, c = 1.25;
// x holds 8 requests, and one of them fails, taking it down with 7 still
// in flight. A hot key of y, by the paper's rule with n = 2 (m is 1, 2,
// ... as it places its requests), goes
//
//	r1 m=1 cap 1: y   r2 m=2 cap 2: y   r3 m=3 cap 2: y full, z
//	r4 m=4 cap 3: y   r5 m=5 cap 4: y   r6 m=6 cap 4: y full, z
//
// where counting x's 7 (m from 8, capacity 5 to 9) sent all six to y.
func TestBoundedLoadCountsTheLiveBackendsLoad(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b, err := NewBoundedLoad(Options{Now: clock.Now}) // c = 1.25, max_fails 1
	require.NoError(t, err)
	for _, id := range []string{"x", "y", "z"} {
		require.NoError(t, b.Add(id, 1))
	}
	// Eight requests on x, more than any pick would give it (its
	// capacity for the second is ceil(1.25 × 2/3) = 1): as if they were
	// picked while y and z were down.
	i, _ := b.pool.Index("x")
	for range 8 {
		b.pool.Picked(i, clock.now)
	}
	b.Report("x", Failure)
	require.False(t, b.pool.Up(i, clock.now), "x should be down after its failure")
	require.Equal(t, 7, b.pool.Peers[i].InFlight)

	hot := ""
	for k := 0; hot == ""; k++ {
		if key := fmt.Sprint("user-", k); b.ring.Node(b.ring.Search(key)) == "y" {
			hot = key
		}
	}
	var got []string
	for range 6 {
		id, err := b.Pick(hot)
		require.NoError(t, err)
		got = append(got, id)
	}
	require.Equal(t, []string{"y", "y", "z", "y", "y", "z"}, got, "a hot key of y with x down holding 7 requests")
}
