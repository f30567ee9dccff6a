package balancer_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/05-balancers/balancer"
	"github.com/gocourse/gateway/05-balancers/balancertest"
	"github.com/gocourse/gateway/05-balancers/ring"
)

// newWith builds the balancer called name with n backends b0, b1, ...
// of weights 1, 2, 3, 1, 2, 3, ...
func newWith(tb testing.TB, name string, n int, opts balancer.Options) balancer.Balancer {
	tb.Helper()
	b, err := balancer.New(name, opts)
	require.NoError(tb, err)
	for i := range n {
		require.NoError(tb, b.Add(fmt.Sprint("b", i), 1+i%3))
	}
	return b
}

// TestPickAllocatesNothing: a pick is on every request's path, so it must
// not make garbage for the collector.
func TestPickAllocatesNothing(t *testing.T) {
	keys := make([]string, 64)
	for i := range keys {
		keys[i] = fmt.Sprint("user-", i)
	}
	for _, name := range balancer.Names() {
		b := newWith(t, name, 100, balancer.Options{})
		i := 0
		pick := func() {
			id, err := b.Pick(keys[i%len(keys)])
			if err != nil {
				t.Fatalf("%s: Pick(%q) with every backend up: %v", name, keys[i%len(keys)], err)
			}
			b.Report(id, balancer.Success)
			i++
		}
		for range 2000 { // let Maglev fill its table and SWRR record its period
			pick()
		}
		assert.Zero(t, testing.AllocsPerRun(1000, pick), "%s: allocations per Pick and Report", name)
	}
}

// TestFailedPickAllocatesNothing: a pick that fails, with every backend
// down or none at all, allocates nothing either (a gateway whose backends
// are all down still answers every request).
func TestFailedPickAllocatesNothing(t *testing.T) {
	for _, name := range balancer.Names() {
		b := newWith(t, name, 10, balancer.Options{Health: balancer.Health{FailTimeout: time.Hour}})
		for i := range 10 {
			b.Report(fmt.Sprint("b", i), balancer.Failure) // max_fails 1: down
		}
		empty := newWith(t, name, 0, balancer.Options{})
		// t.Fatalf, not panic: AllocsPerRun calls f on the test's own
		// goroutine, and a panic would end the test binary there, hiding
		// every other test's report (the conformance suite's, which says
		// what broke, among them).
		allocs := testing.AllocsPerRun(100, func() {
			if id, err := b.Pick("k"); err == nil {
				t.Fatalf("%s: a pick succeeded (%s) with every backend down", name, id)
			}
			if id, err := empty.Pick("k"); err == nil {
				t.Fatalf("%s: a pick succeeded (%s) on an empty pool", name, id)
			}
		})
		assert.Zero(t, allocs, "%s: allocations per failed Pick", name)
	}
}

func TestFactory(t *testing.T) {
	want := []string{"bounded", "chash", "leastconn", "maglev", "p2c", "random", "roundrobin", "swrr"}
	if diff := cmp.Diff(want, balancer.Names()); diff != "" {
		t.Errorf("Names() (-want +got):\n%s", diff)
	}
	_, err := balancer.New("fastest", balancer.Options{})
	require.ErrorIs(t, err, balancer.ErrUnknownBalancer)
	assert.EqualError(t, err, `unknown balancer "fastest": choose one of bounded, chash, leastconn, maglev, p2c, random, roundrobin, swrr`)

}

// Options out of range stop the constructors with an error that matches
// ErrBadOption and says what the range is, rather than, for a table size
// such as 1,000,000,007 (a prime), allocating 4 GB on the first pick.
func TestBadOptions(t *testing.T) {
	for _, tc := range []struct {
		balancer string
		opts     balancer.Options
		want     string
	}{
		{"maglev", balancer.Options{TableSize: 1000}, "maglev: the table size must be a prime no larger than 4194304 (such as 65537), got 1000"},
		{"maglev", balancer.Options{TableSize: -7}, "maglev: the table size must be a prime no larger than 4194304 (such as 65537), got -7"},
		// Not primes: 1 would divide by zero (skip is taken modulo M-1),
		// and with 49 = 7 × 7 a backend whose skip is a multiple of 7
		// visits 7 slots only, so filling could go round them forever;
		// with 4, a skip of 2 visits 2 of the 4 (trial division must
		// start at 2).
		{"maglev", balancer.Options{TableSize: 1}, "maglev: the table size must be a prime no larger than 4194304 (such as 65537), got 1"},
		{"maglev", balancer.Options{TableSize: 4}, "maglev: the table size must be a prime no larger than 4194304 (such as 65537), got 4"},
		{"maglev", balancer.Options{TableSize: 49}, "maglev: the table size must be a prime no larger than 4194304 (such as 65537), got 49"},
		{"maglev", balancer.Options{TableSize: 1_000_000_007}, "maglev: the table size must be a prime no larger than 4194304 (such as 65537), got 1000000007"},
		{"bounded", balancer.Options{LoadFactor: 0.5}, "bounded load: the load factor c must be from 1 to 1000000, got 0.5"},
		{"bounded", balancer.Options{LoadFactor: 2 * balancer.MaxLoadFactor}, "bounded load: the load factor c must be from 1 to 1000000, got 2e+06"},
		{"chash", balancer.Options{Replicas: balancer.MaxReplicas + 1}, "chash: replicas must be from 1 to 1000 (0 for the default, 160), got 1001"},
		{"chash", balancer.Options{Replicas: -1}, "chash: replicas must be from 1 to 1000 (0 for the default, 160), got -1"},
		{"bounded", balancer.Options{Replicas: 1_000_000}, "bounded load: replicas must be from 1 to 1000 (0 for the default, 160), got 1000000"},
	} {
		b, err := balancer.New(tc.balancer, tc.opts)
		assert.Nil(t, b, "%s %+v", tc.balancer, tc.opts)
		assert.ErrorIs(t, err, balancer.ErrBadOption, "%s %+v", tc.balancer, tc.opts)
		assert.EqualError(t, err, tc.want)
	}
	for _, tc := range []struct {
		balancer string
		opts     balancer.Options
	}{
		{"maglev", balancer.Options{TableSize: 4_194_301}}, // the largest prime allowed
		{"maglev", balancer.Options{TableSize: 2}},         // the smallest prime
		{"chash", balancer.Options{Replicas: balancer.MaxReplicas}},
		{"bounded", balancer.Options{Replicas: 1, LoadFactor: balancer.MaxLoadFactor}},
	} {
		_, err := balancer.New(tc.balancer, tc.opts)
		assert.NoError(t, err, "%s %+v: at the bound", tc.balancer, tc.opts)
	}
}

func TestMaglevTableTooSmall(t *testing.T) {
	b, err := balancer.NewMaglev(balancer.Options{TableSize: 3})
	require.NoError(t, err)
	for i := range 3 {
		require.NoError(t, b.Add(fmt.Sprint(i), 1))
	}
	err = b.Add("3", 1)
	assert.ErrorIs(t, err, balancer.ErrTableFull)
	assert.ErrorContains(t, err, "cannot hold more backends")
}

// TestBoundedLoadCap holds many requests for one hot key in flight: plain
// consistent hashing sends them all to one backend; bounded loads never
// lets a backend go above ceil(c * average).
func TestBoundedLoadCap(t *testing.T) {
	const n, requests, c = 5, 1000, 1.25
	hash := newWith(t, "chash", n, balancer.Options{})
	bounded := newWith(t, "bounded", n, balancer.Options{LoadFactor: c})
	hashLoad, boundedLoad := map[string]int{}, map[string]int{}
	totalWeight := 1 + 2 + 3 + 1 + 2
	for r := 1; r <= requests; r++ {
		id, err := hash.Pick("hot")
		require.NoError(t, err)
		hashLoad[id]++
		id, err = bounded.Pick("hot") // no Report: every request stays in flight
		require.NoError(t, err)
		boundedLoad[id]++
		weight := 1 + (int(id[1]-'0'))%3
		capacity := ceilDiv(5*r*weight, 4*totalWeight) // c = 5/4
		if !assert.LessOrEqual(t, boundedLoad[id], capacity, "after %d requests, backend %s (weight %d) holds more than ceil(c * its share)", r, id, weight) {
			break
		}
	}
	assert.Len(t, hashLoad, 1, "plain consistent hashing sends one key to one backend")
	assert.Greater(t, len(boundedLoad), 2, "bounded loads spreads a hot key over other backends once its own is full: %v", boundedLoad)
}

// A key whose backend is down goes to the next backend clockwise on the
// ring, the second of ring.GetN: the backend that would own it if its own
// were removed. Bounded loads, with no load in flight, does the same.
func TestHashFailsOverClockwise(t *testing.T) {
	for _, name := range []string{"chash", "bounded"} {
		clock := balancertest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		b, err := balancer.New(name, balancer.Options{Now: clock.Now}) // max_fails 1
		require.NoError(t, err)
		r := ring.New(0, nil) // the balancer's ring: default replicas and hash
		for _, id := range []string{"a", "b", "c", "d", "e"} {
			require.NoError(t, b.Add(id, 1))
			r.Add(id, 1)
		}
		b.Report("c", balancer.Failure)
		moved := 0
		for i := range 2000 {
			k := fmt.Sprint("key-", i)
			want := r.GetN(k, 2)
			if want[0] != "c" {
				continue
			}
			moved++
			got, err := b.Pick(k)
			require.NoError(t, err)
			b.Report(got, balancer.Success)
			require.Equal(t, want[1], got, "%s: key %q, whose backend c is down, went to %s; the next backend clockwise is %s", name, k, got, want[1])
		}
		assert.Greater(t, moved, 200, "%s: keys of c checked", name)
	}
}

// With every backend down, the hash balancers answer at once, without
// looking for the key's place: walking the whole ring (160 points per unit
// of weight) or Maglev's table (65,537 slots) to find no live backend took
// 10 ms a pick at 1,000 backends, with the lock held. The hash function
// counts its calls: the key is not even hashed. Once the timeout has
// passed, the key's own backend takes the probe.
func TestHashAllDownAnswersAtOnce(t *testing.T) {
	for _, name := range []string{"chash", "bounded", "maglev"} {
		clock := balancertest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		hashed := 0
		hash := func(s string) uint64 { hashed++; return ring.FNV(s) }
		b, err := balancer.New(name, balancer.Options{Hash: hash, Now: clock.Now}) // max_fails 1
		require.NoError(t, err)
		for i := range 100 {
			require.NoError(t, b.Add(fmt.Sprint("b", i), 1))
		}
		want, err := b.Pick("ada") // Maglev fills its table
		require.NoError(t, err)
		b.Report(want, balancer.Success)
		for i := range 100 {
			b.Report(fmt.Sprint("b", i), balancer.Failure)
		}

		hashed = 0
		_, err = b.Pick("ada")
		assert.ErrorIs(t, err, balancer.ErrNoBackend, name)
		assert.EqualError(t, err, "no backend available: every backend is down", name)
		assert.Zero(t, hashed, "%s: with every backend down, Pick still looked for the key's place (and walked every point from there)", name)

		clock.Advance(11 * time.Second) // past fail_timeout: probes may go through
		got, err := b.Pick("ada")
		require.NoError(t, err, name)
		assert.Equal(t, want, got, "%s: the probe after the timeout goes to the key's own backend", name)
	}
}

// The pool counts its failing backends to tell at once that every one is
// down, so the count must stay exact as backends come and go: a backend
// that fails more than max_fails times (requests already in flight when
// it went down) and then recovers, and one removed while down, must not
// leave it above the truth, else "every backend is down" is never seen
// and the hash balancers walk their ring or table again.
func TestHashAllDownAnswersAtOnceAfterChanges(t *testing.T) {
	for _, name := range []string{"chash", "bounded", "maglev"} {
		clock := balancertest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		hashed := 0
		hash := func(s string) uint64 { hashed++; return ring.FNV(s) }
		b, err := balancer.New(name, balancer.Options{Hash: hash, Now: clock.Now}) // max_fails 1
		require.NoError(t, err)
		for _, id := range []string{"a", "b", "c", "d"} {
			require.NoError(t, b.Add(id, 1))
		}
		only := func(id string) func(string) bool { return func(other string) bool { return other != id } }
		pe := b.(interface {
			PickExcept(skip func(string) bool) (string, error)
		})

		b.Report("a", balancer.Failure)
		b.Report("a", balancer.Failure) // a second request that was in flight
		clock.Advance(11 * time.Second)
		_, err = pe.PickExcept(only("a")) // the probe
		require.NoError(t, err, name)
		b.Report("a", balancer.Success) // a recovered
		b.Report("b", balancer.Failure)
		require.NoError(t, b.Remove("b"), name) // removed while down
		for _, id := range []string{"a", "c", "d"} {
			b.Report(id, balancer.Failure)
		}

		hashed = 0
		_, err = b.Pick("ada")
		assert.ErrorIs(t, err, balancer.ErrNoBackend, name)
		assert.Zero(t, hashed, "%s: every backend is down, yet Pick looked for the key's place", name)
	}
}

// UpWeight, the weight of the live backends, follows failures, the
// timeout that lets a probe through, recovery and removal.
func TestUpWeight(t *testing.T) {
	clock := balancertest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	p := balancer.NewPool(balancer.Options{Now: clock.Now, Health: balancer.Health{MaxFails: 2}})
	require.NoError(t, p.Add("a", 1))
	require.NoError(t, p.Add("b", 2))
	require.NoError(t, p.Add("c", 4))
	assert.Equal(t, 7, p.UpWeight(clock.Now()))
	p.Report("b", balancer.Failure)
	assert.Equal(t, 7, p.UpWeight(clock.Now()), "one failure of two allowed")
	p.Report("b", balancer.Failure)
	p.Report("c", balancer.Failure)
	p.Report("c", balancer.Failure)
	p.Report("c", balancer.Failure) // a third: still one peer down
	assert.Equal(t, 1, p.UpWeight(clock.Now()))
	clock.Advance(11 * time.Second) // past fail_timeout: a probe may go to b and c
	assert.Equal(t, 7, p.UpWeight(clock.Now()))
	i, _ := p.Index("b")
	p.Picked(i, clock.Now()) // the probe
	p.Report("b", balancer.Success)
	assert.Equal(t, 7, p.UpWeight(clock.Now()), "b recovered; c may still take a probe")
	require.NoError(t, p.Remove("c"))
	assert.Equal(t, 3, p.UpWeight(clock.Now()))
	p.Report("a", balancer.Failure)
	p.Report("a", balancer.Failure)
	assert.Equal(t, 2, p.UpWeight(clock.Now()), "a down, after the others came and went")
	require.NoError(t, p.Add("d", 8))
	require.NoError(t, p.Remove("d")) // a healthy one: a is still down
	assert.Equal(t, 2, p.UpWeight(clock.Now()))
}

// Pool.Report returns the position in Peers of the backend reported,
// which moves down when one before it is removed, whatever the outcome
// and with health tracking on or off; and false for an id not in the
// pool.
func TestPoolReportReturnsThePosition(t *testing.T) {
	for name, health := range map[string]balancer.Health{
		"nginx's defaults":    {},
		"health tracking off": {MaxFails: -1},
	} {
		t.Run(name, func(t *testing.T) {
			p := balancer.NewPool(balancer.Options{Health: health})
			for _, id := range []string{"a", "b", "c"} {
				require.NoError(t, p.Add(id, 1))
			}
			require.NoError(t, p.Remove("a"))
			for _, o := range []balancer.Outcome{balancer.Success, balancer.Failure} {
				i, ok := p.Report("c", o)
				assert.True(t, ok, "c is in the pool (outcome %v)", o)
				assert.Equal(t, 1, i, "c's position after a was removed (outcome %v)", o)
			}
			_, ok := p.Report("a", balancer.Success)
			assert.False(t, ok, "a was removed")
		})
	}
}

// idlePicks makes n picks, each reported at once, so that every backend
// is idle at every pick, and counts them by backend.
func idlePicks(t *testing.T, b balancer.Balancer, n int) map[string]int {
	t.Helper()
	picks := map[string]int{}
	for range n {
		id, err := b.Pick("")
		require.NoError(t, err)
		b.Report(id, balancer.Success)
		picks[id]++
	}
	return picks
}

// ceilDiv is ceil(a/b) for positive integers: the tests compute the
// bounds exactly, as the balancer does.
func ceilDiv(a, b int) int { return (a + b - 1) / b }

// The capacity is exact: with c = 1.1 and 11 backends, ceil(1.1 * r / 11)
// is ceil(r / 10), which floating point overshoots by one for r = 50
// (1.1 * 50 / 11 = 5.000000000000001).
func TestBoundedLoadCapIsExact(t *testing.T) {
	c, requests, backends := 1.1, 50.0, 11.0
	require.Equal(t, 5.000000000000001, c*requests/backends, "the chapter's example of the float64 capacity")
	b, err := balancer.NewBoundedLoad(balancer.Options{LoadFactor: 1.1})
	require.NoError(t, err)
	for i := range 11 {
		require.NoError(t, b.Add(fmt.Sprint("b", i), 1))
	}
	load := map[string]int{}
	for r := 1; r <= 200; r++ {
		id, err := b.Pick("hot")
		require.NoError(t, err)
		load[id]++
		require.LessOrEqual(t, load[id], ceilDiv(r, 10), "after %d requests %s holds more than ceil(1.1 * %d / 11)", r, id, r)
	}
}

// c is taken to six decimal places, not rounded to fewer: with two
// backends and c = 1.000001, a hot key's backend may hold
// ceil(1.000001 * 2 / 2) = 2 of two requests, so it takes the second as
// well, where c = 1 would send the second to the other backend.
func TestBoundedLoadTakesCToSixDecimalPlaces(t *testing.T) {
	b, err := balancer.NewBoundedLoad(balancer.Options{LoadFactor: 1.000001})
	require.NoError(t, err)
	require.NoError(t, b.Add("a", 1))
	require.NoError(t, b.Add("b", 1))
	first, err := b.Pick("hot")
	require.NoError(t, err)
	second, err := b.Pick("hot")
	require.NoError(t, err)
	assert.Equal(t, first, second, "with c = 1.000001 the key's backend may hold both requests")
}

// The average is over the live backends: with half of them down, each
// live one may hold ceil(c * load / live), and none more, where counting
// the dead ones in the average would fill every live backend and then
// pile the rest on one.
func TestBoundedLoadCapWithBackendsDown(t *testing.T) {
	clock := balancertest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b, err := balancer.NewBoundedLoad(balancer.Options{Now: clock.Now}) // c = 1.25, max_fails 1
	require.NoError(t, err)
	for i := range 10 {
		require.NoError(t, b.Add(fmt.Sprint("b", i), 1))
	}
	for i := range 5 {
		b.Report(fmt.Sprint("b", 2*i), balancer.Failure) // b0, b2, ... b8 down
	}
	load := map[string]int{}
	for r := 1; r <= 1000; r++ {
		id, err := b.Pick("hot")
		require.NoError(t, err)
		load[id]++
		require.LessOrEqual(t, load[id], ceilDiv(5*r, 4*5), "after %d requests %s holds more than ceil(1.25 * %d / 5 live)", r, id, r)
	}
	for i := range 5 {
		assert.Zero(t, load[fmt.Sprint("b", 2*i)], "a down backend was picked")
	}
}

func TestBoundedLoadKeepsKeysWhenUnloaded(t *testing.T) {
	hash := newWith(t, "chash", 7, balancer.Options{})
	bounded := newWith(t, "bounded", 7, balancer.Options{})
	for i := range 500 {
		k := fmt.Sprint("k", i)
		want, err := hash.Pick(k)
		require.NoError(t, err)
		hash.Report(want, balancer.Success)
		got, err := bounded.Pick(k)
		require.NoError(t, err)
		bounded.Report(got, balancer.Success)
		require.Equal(t, want, got, "key %q: with no load, bounded loads must pick what consistent hashing picks", k)
	}
}

// TestLeastConnPrefersIdle holds requests in flight and checks that the
// next pick goes to the backend with the lowest in-flight/weight ratio.
func TestLeastConnPrefersIdle(t *testing.T) {
	b := balancer.NewLeastConn(balancer.Options{})
	require.NoError(t, b.Add("a", 1))
	require.NoError(t, b.Add("b", 2))
	var picks []string
	for range 6 { // nothing reported: each pick adds load
		id, err := b.Pick("")
		require.NoError(t, err)
		picks = append(picks, id)
	}
	// Ties (both idle, then a:1/1 against b:2/2) go by smooth weighted round
	// robin; otherwise the lower in-flight/weight ratio wins. b has twice
	// the weight and ends with twice a's load.
	want := []string{"b", "a", "b", "a", "b", "b"}
	if diff := cmp.Diff(want, picks); diff != "" {
		t.Errorf("least-connections picks with loads held (-want +got):\n%s", diff)
	}
	b.Report("b", balancer.Success)
	b.Report("b", balancer.Success)
	id, err := b.Pick("")
	require.NoError(t, err)
	assert.Equal(t, "b", id, "after two of b's requests finished, b (2 in flight / weight 2) is the least loaded")
}

// A failure lowers a backend's effective weight, which climbs back by one
// each time the backend takes part in a tie-break, as in nginx: once its
// fail_timeout has passed, a backend that failed shares idle picks again
// (with its effective weight stuck at 0 it would lose every tie for good).
func TestLeastConnWeightRecovers(t *testing.T) {
	clock := balancertest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := balancer.NewLeastConn(balancer.Options{Now: clock.Now})
	require.NoError(t, b.Add("a", 1))
	require.NoError(t, b.Add("b", 1))
	b.Report("a", balancer.Failure) // max_fails 1: down, effective weight 0
	clock.Advance(11 * time.Second) // past the default fail_timeout, 10 s
	picks := idlePicks(t, b, 100)
	assert.InDelta(t, 50, picks["a"], 2, "idle picks: %v", picks)
}

// The two compared are distinct: with two backends, two choices always
// takes the less loaded, so their loads never differ by more than one.
func TestTwoChoicesComparesTwoDistinctBackends(t *testing.T) {
	b := balancer.NewTwoChoices(balancer.Options{Rand: rand.NewPCG(1, 2)})
	require.NoError(t, b.Add("a", 1))
	require.NoError(t, b.Add("b", 1))
	load := map[string]int{}
	for r := range 1000 { // no Report: every request stays in flight
		id, err := b.Pick("")
		require.NoError(t, err)
		load[id]++
		require.LessOrEqual(t, max(load["a"]-load["b"], load["b"]-load["a"]), 1, "after %d requests: %v", r+1, load)
	}
}

// With skewed weights the second draw still finds another backend: it is
// drawn from the others' weight only. A heavy backend that never finishes
// (weights 256, 1, 1; its requests never reported) is compared with an
// idle light one at every pick, so it takes only the first request, when
// all were idle. (Drawing again until the second differs, up to 20 draws,
// found a light one about one time in seven; the other picks took the
// heavy one uncompared: 8,524 of 10,000.)
func TestTwoChoicesComparesAgainstASkewedWeight(t *testing.T) {
	b := balancer.NewTwoChoices(balancer.Options{Rand: rand.NewPCG(1, 2)})
	require.NoError(t, b.Add("heavy", balancer.MaxWeight))
	require.NoError(t, b.Add("light1", 1))
	require.NoError(t, b.Add("light2", 1))
	picks := map[string]int{}
	for range 10000 {
		id, err := b.Pick("")
		require.NoError(t, err)
		picks[id]++
		if id != "heavy" { // the heavy backend is stuck: its requests never end
			b.Report(id, balancer.Success)
		}
	}
	assert.LessOrEqual(t, picks["heavy"], 1, "a stuck heavy backend was picked while a light one was idle: %v", picks)
}

// TestRedrawingUpTo20TimesFigures backs the chapter's figures for
// drawing the second backend again until it differs, with weights 256, 1,
// 1 and the heavy backend stuck. nginx draws up to 20 more after the
// first: they find a light one about one time in seven, 1 - (256/258)^20
// = 0.144. The earlier version here made 20 draws in all, the first and
// up to 19 more, and took the heavy one uncompared in 8,524 of 10,000
// picks (expected: (256/258)^20 = 0.856 of them, the first draw heavy
// and no light one after it). The simulation is that procedure alone,
// with its own weighted draws.
func TestRedrawingUpTo20TimesFigures(t *testing.T) {
	assert.InDelta(t, 1.0/7, 1-math.Pow(256.0/258, 20), 0.005, "chance that 20 redraws after the heavy one find a light one")
	r := rand.New(rand.NewPCG(1, 2))
	weights := []int{256, 1, 1}
	draw := func() int { // weighted, as nginx's peek
		x := r.IntN(258)
		for i, w := range weights {
			if x < w {
				return i
			}
			x -= w
		}
		panic("unreachable")
	}
	heavyUncompared := 0
	for range 10000 {
		first, second := draw(), -1
		for range 19 { // 20 draws in all
			if d := draw(); d != first {
				second = d
				break
			}
		}
		if second < 0 && first == 0 {
			heavyUncompared++ // with a second, the idle light one wins
		}
	}
	assert.InDelta(t, 10000*math.Pow(256.0/258, 20), 8524, 50, "the chapter's figure against the expected count")
	assert.InDelta(t, 8524, heavyUncompared, 100, "picks of the stuck heavy backend, taken uncompared, in 10,000")
}

// Backends are drawn in proportion to their weights, as nginx draws them:
// when every backend is idle (each request reported at once), the picks
// follow the weights.
func TestTwoChoicesDrawsByWeight(t *testing.T) {
	b := balancer.NewTwoChoices(balancer.Options{Rand: rand.NewPCG(1, 2)})
	require.NoError(t, b.Add("a", 1))
	require.NoError(t, b.Add("b", 3))
	require.NoError(t, b.Add("c", 4))
	picks := idlePicks(t, b, 8000)
	assert.InDelta(t, 1000, picks["a"], 100, "%v", picks)
	assert.InDelta(t, 3000, picks["b"], 150, "%v", picks)
	assert.InDelta(t, 4000, picks["c"], 150, "%v", picks)
}

// The draws follow the weights of the backends in the pool now: after the
// heavy backend is removed, the two light ones share the picks evenly.
func TestTwoChoicesDrawsByWeightAfterARemoval(t *testing.T) {
	b := balancer.NewTwoChoices(balancer.Options{Rand: rand.NewPCG(1, 2)})
	require.NoError(t, b.Add("a", 100))
	require.NoError(t, b.Add("b", 1))
	require.NoError(t, b.Add("c", 1))
	require.NoError(t, b.Remove("a"))
	picks := idlePicks(t, b, 2000)
	assert.InDelta(t, 1000, picks["b"], 100, "%v", picks)
	assert.InDelta(t, 1000, picks["c"], 100, "%v", picks)
}

// The second backend is drawn by weight among the others, as nginx's
// drawing again until it differs: after first i, j comes with chance
// w_j / (W - w_i). Idle picks cannot show it (on a tie the first drawn
// wins), so the loads are held apart: a (weight 8) is the busiest, b
// (weight 1) next, c idle. b is then picked exactly when the two drawn
// are a and b: 0.8 × 1/2 + 0.1 × 8/9 = 0.489 of the picks. A second drawn
// uniformly among the others would give 0.8 × 1/2 + 0.1 × 1/2 = 0.45.
func TestTwoChoicesDrawsTheSecondByWeight(t *testing.T) {
	const picks = 20000
	b := balancer.NewTwoChoices(balancer.Options{Rand: rand.NewPCG(1, 2)})
	require.NoError(t, b.Add("a", 8))
	require.NoError(t, b.Add("b", 1))
	require.NoError(t, b.Add("c", 1))
	hold := func(id string, n int) { // n requests to id, never reported
		for range n {
			got, err := b.PickExcept(func(other string) bool { return other != id })
			require.NoError(t, err)
			require.Equal(t, id, got)
		}
	}
	hold("a", 16) // 2 per unit of weight
	hold("b", 1)  // 1 per unit of weight
	got := idlePicks(t, b, picks)
	want := picks * (0.8*1/2 + 0.1*8/9)
	assert.Zero(t, got["a"], "a is busier than b and c: it never wins a comparison: %v", got)
	assert.InDelta(t, want, got["b"], 250, "b is picked when the pair drawn is a and b: %v", got)
}

// A backend drawn down is drawn again, so that two live ones are compared
// even when most are down: with 15 of 20 down, the five live ones stay as
// even as a pool of five (over 200 seeds the gap was 0 to 6). Taking the
// one live candidate without a comparison, as an earlier version did,
// left a gap of 25, about random's.
func TestTwoChoicesDrawsAgainPastDownBackends(t *testing.T) {
	clock := balancertest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := balancer.NewTwoChoices(balancer.Options{Rand: rand.NewPCG(3, 4), Now: clock.Now})
	for i := range 20 {
		require.NoError(t, b.Add(fmt.Sprint("b", i), 1))
	}
	for i := 5; i < 20; i++ {
		b.Report(fmt.Sprint("b", i), balancer.Failure) // max_fails 1: down
	}
	load := map[string]int{}
	for range 2000 { // no Report: every request stays in flight
		id, err := b.Pick("")
		require.NoError(t, err)
		load[id]++
	}
	lo, hi, live := 2000, 0, 0
	for i := range 5 {
		l := load[fmt.Sprint("b", i)]
		lo, hi, live = min(lo, l), max(hi, l), live+l
	}
	assert.Equal(t, 2000, live, "only live backends picked: %v", load)
	assert.LessOrEqual(t, hi-lo, 6, "busiest minus idlest live backend: %v", load)
}

// countingSource is a random source that counts the numbers drawn from it.
type countingSource struct {
	rand.Source
	n int
}

func (s *countingSource) Uint64() uint64 { s.n++; return s.Source.Uint64() }

// Two choices gives up looking for a second live backend where nginx
// does: ngx_http_upstream_get_random2_peer counts each draw that does
// not complete the pair (the first live one's included) and stops when
// the count passes 20, so the 21st draw is the last. With backends a and
// b of weight 1 and b down, every draw after a's is b's: a pick makes 21
// draws, then takes a. (Each draw below a total that is a power of two
// takes exactly one number from the source.)
func TestTwoChoicesDrawsAsOftenAsNginx(t *testing.T) {
	src := &countingSource{Source: rand.NewPCG(1, 2)}
	b := balancer.NewTwoChoices(balancer.Options{Rand: src}) // max_fails 1
	require.NoError(t, b.Add("a", 1))
	require.NoError(t, b.Add("b", 1))
	b.Report("b", balancer.Failure)
	for range 20 {
		src.n = 0
		id, err := b.Pick("")
		require.NoError(t, err)
		b.Report(id, balancer.Success)
		require.Equal(t, "a", id)
		require.Equal(t, 21, src.n, "draws made by a pick whose second draw always finds b down")
	}
}

// TestTwoChoicesEvensLoad holds every request in flight and compares the
// gap between the busiest and the idlest backend: random draws leave a
// wide one, two choices a narrow one.
func TestTwoChoicesEvensLoad(t *testing.T) {
	const n, requests = 10, 2000
	gap := func(name string) int {
		b, err := balancer.New(name, balancer.Options{Rand: rand.NewPCG(3, 4)})
		require.NoError(t, err)
		for i := range n {
			require.NoError(t, b.Add(fmt.Sprint("b", i), 1))
		}
		load := map[string]int{}
		for range requests { // no Report: every request stays in flight
			id, err := b.Pick("")
			require.NoError(t, err)
			load[id]++
		}
		lo, hi := requests, 0
		for i := range n {
			lo, hi = min(lo, load[fmt.Sprint("b", i)]), max(hi, load[fmt.Sprint("b", i)])
		}
		return hi - lo
	}
	random, twoChoices := gap("random"), gap("p2c")
	t.Logf("busiest minus idlest after %d requests on %d backends: random %d, two choices %d", requests, n, random, twoChoices)
	assert.LessOrEqual(t, twoChoices, 3, "two choices keeps every backend within a few requests of the others")
	assert.Greater(t, random, 3*twoChoices, "random should be far less even than two choices")
	// The chapter's figures, for these seeded draws.
	assert.Equal(t, [2]int{32, 2}, [2]int{random, twoChoices}, "the gaps of random and of two choices the chapter gives")
}

// With a backend down, round robin goes on taking the live ones in turn
// and random draws evenly among them: the down backend's share is spread
// over all of them, not handed to the one after it.
func TestDownBackendsShareIsSpread(t *testing.T) {
	newDown := func(name string) balancer.Balancer {
		b, err := balancer.New(name, balancer.Options{Rand: rand.NewPCG(1, 2)}) // max_fails 1
		require.NoError(t, err)
		for _, id := range []string{"a", "b", "c", "d"} {
			require.NoError(t, b.Add(id, 1))
		}
		b.Report("b", balancer.Failure)
		return b
	}
	rr := newDown("roundrobin")
	picks := inTurn(t, rr, 9)
	if diff := cmp.Diff([]string{"a", "c", "d", "a", "c", "d", "a", "c", "d"}, picks); diff != "" {
		t.Errorf("round robin with b down (-want +got):\n%s", diff)
	}
	c := idlePicks(t, newDown("random"), 30000)
	for _, id := range []string{"a", "c", "d"} {
		assert.InDelta(t, 10000, c[id], 400, "random with b down: %v", c)
	}
}

// TestHealthForgetsOldFailures: failures count towards max_fails only
// within fail_timeout. A success more than fail_timeout after the last
// failure clears them, as in nginx.
func TestHealthForgetsOldFailures(t *testing.T) {
	clock := balancertest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := balancer.NewRoundRobin(balancer.Options{Health: balancer.Health{MaxFails: 2, FailTimeout: 10 * time.Second}, Now: clock.Now})
	require.NoError(t, b.Add("a", 1))

	pick := func(o balancer.Outcome) error {
		id, err := b.Pick("")
		if err == nil {
			b.Report(id, o)
		}
		return err
	}
	require.NoError(t, pick(balancer.Failure))
	clock.Advance(11 * time.Second)
	require.NoError(t, pick(balancer.Success)) // clears the old failure
	require.NoError(t, pick(balancer.Failure)) // one failure within the window: still up
	assert.NoError(t, pick(balancer.Success), "one recent failure, max_fails=2: a is up")
	require.NoError(t, pick(balancer.Failure)) // the second within fail_timeout
	assert.ErrorIs(t, pick(balancer.Success), balancer.ErrNoBackend, "two failures within fail_timeout: a is down")
}

// TestDownForAllOfFailTimeout: a backend that went down is skipped for
// all of fail_timeout, its last instant included, as nginx skips a peer
// while now - checked <= fail_timeout; the first instant after it, it
// gets its probe. The zero Options give nginx's defaults, max_fails=1 and
// fail_timeout=10s, so they behave as the explicit ones.
func TestDownForAllOfFailTimeout(t *testing.T) {
	for name, health := range map[string]balancer.Health{
		"max_fails 1, fail_timeout 10s":  {MaxFails: 1, FailTimeout: 10 * time.Second},
		"zero Options: nginx's defaults": {},
	} {
		t.Run(name, func(t *testing.T) {
			clock := balancertest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			b := balancer.NewRoundRobin(balancer.Options{Health: health, Now: clock.Now})
			require.NoError(t, b.Add("a", 1))
			id, err := b.Pick("")
			require.NoError(t, err)
			b.Report(id, balancer.Failure)

			clock.Advance(10 * time.Second)
			_, err = b.Pick("")
			assert.ErrorIs(t, err, balancer.ErrNoBackend, "exactly 10s after one failure: still down")
			clock.Advance(time.Nanosecond)
			_, err = b.Pick("")
			assert.NoError(t, err, "just past 10s: the probe")
		})
	}
}

// TestAFailedProbeIsOutForAnotherFailTimeout: a probe that fails takes the
// backend out for another fail_timeout counted from the failure, as nginx
// sets checked to the time of every failure, not from the pick that
// began the probe. The difference shows when the probe fails late, as a
// request that times out does: picked at 11 s, failed at 19 s, the
// backend is down until 29 s, not 21 s.
func TestAFailedProbeIsOutForAnotherFailTimeout(t *testing.T) {
	clock := balancertest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := balancer.NewRoundRobin(balancer.Options{Now: clock.Now}) // max_fails 1, fail_timeout 10s
	require.NoError(t, b.Add("a", 1))
	id, err := b.Pick("")
	require.NoError(t, err)
	b.Report(id, balancer.Failure) // at 0 s: down

	clock.Advance(11 * time.Second)
	probe, err := b.Pick("")
	require.NoError(t, err, "11 s after the failure: the probe")
	clock.Advance(8 * time.Second)
	b.Report(probe, balancer.Failure) // at 19 s: the probe timed out

	clock.Advance(10 * time.Second)
	_, err = b.Pick("")
	assert.ErrorIs(t, err, balancer.ErrNoBackend, "10 s after the failed probe (18 s after its pick): still down")
	clock.Advance(time.Nanosecond)
	_, err = b.Pick("")
	assert.NoError(t, err, "just past 10 s after the failed probe: the next probe")
}

// A success forgets earlier failures only when its pick began a new
// check, more than fail_timeout after the last one, as nginx compares
// (now - checked > fail_timeout). At exactly fail_timeout the old failure
// still counts, and a second one takes the backend out.
func TestFailuresForgottenOnlyPastFailTimeout(t *testing.T) {
	clock := balancertest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := balancer.NewRoundRobin(balancer.Options{Health: balancer.Health{MaxFails: 2, FailTimeout: 10 * time.Second}, Now: clock.Now})
	require.NoError(t, b.Add("a", 1))
	pick := func(o balancer.Outcome) error {
		id, err := b.Pick("")
		if err == nil {
			b.Report(id, o)
		}
		return err
	}
	require.NoError(t, pick(balancer.Failure))
	clock.Advance(10 * time.Second)
	require.NoError(t, pick(balancer.Success)) // exactly fail_timeout later: no new check
	require.NoError(t, pick(balancer.Failure))
	assert.ErrorIs(t, pick(balancer.Success), balancer.ErrNoBackend, "the failure fail_timeout ago was forgotten: a should be down after its second")
}

func TestHealthOff(t *testing.T) {
	b := balancer.NewRoundRobin(balancer.Options{Health: balancer.Health{MaxFails: -1}})
	require.NoError(t, b.Add("a", 1))
	for range 10 {
		id, err := b.Pick("")
		require.NoError(t, err, "with health tracking off, failures never take a backend down")
		b.Report(id, balancer.Failure)
	}

	// Nor do they change smooth weighted round robin's effective weights,
	// as nginx leaves them alone with max_fails=0.
	s := balancer.NewSmoothWeighted(balancer.Options{Health: balancer.Health{MaxFails: -1}})
	require.NoError(t, s.Add("a", 1))
	require.NoError(t, s.Add("b", 1))
	var picks []string
	for range 6 {
		id, err := s.Pick("")
		require.NoError(t, err)
		if id == "a" {
			s.Report(id, balancer.Failure)
		} else {
			s.Report(id, balancer.Success)
		}
		picks = append(picks, id)
	}
	if diff := cmp.Diff([]string{"a", "b", "a", "b", "a", "b"}, picks); diff != "" {
		t.Errorf("smooth weighted round robin with health off, a failing every request (-want +got):\n%s", diff)
	}
}

// Every balancer tells an empty pool from one whose backends are all
// down, and PickExcept tells both from one whose backends up are all
// skipped (a retry that has tried them): the 503's body says which.
func TestErrNoBackendMessages(t *testing.T) {
	for _, name := range balancer.Names() {
		b := newWith(t, name, 0, balancer.Options{})
		pe := b.(interface {
			PickExcept(skip func(string) bool) (string, error)
		})
		none := func(string) bool { return false }
		all := func(string) bool { return true }
		_, err := b.Pick("k")
		assert.EqualError(t, err, "no backend available: the pool is empty", name)
		_, err = pe.PickExcept(none)
		assert.EqualError(t, err, "no backend available: the pool is empty", "%s: PickExcept", name)
		require.NoError(t, b.Add("a", 1))
		id, err := pe.PickExcept(none)
		require.NoError(t, err, "%s: PickExcept from a pool of one", name)
		b.Report(id, balancer.Success)
		_, err = pe.PickExcept(all)
		assert.EqualError(t, err, "no backend available: every backend up is skipped", "%s: PickExcept skipping a, which is up", name)
		assert.True(t, errors.Is(err, balancer.ErrNoBackend), name)
		id, err = b.Pick("k")
		require.NoError(t, err, name)
		b.Report(id, balancer.Failure)
		_, err = b.Pick("k")
		assert.EqualError(t, err, "no backend available: every backend is down", name)
		assert.True(t, errors.Is(err, balancer.ErrNoBackend), name)
		_, err = pe.PickExcept(none)
		assert.EqualError(t, err, "no backend available: every backend is down", "%s: PickExcept", name)
		_, err = pe.PickExcept(all)
		assert.EqualError(t, err, "no backend available: every backend is down", "%s: PickExcept skipping a, which is down", name)
	}
}

func TestParseKey(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/cart/42?x=1", nil)
	r.RemoteAddr = "192.0.2.7:51234"
	r.Header.Set("X-User", "ada")
	r.AddCookie(&http.Cookie{Name: "session", Value: "s3"})
	for spec, want := range map[string]string{
		"ip":             "192.0.2.7",
		"path":           "/cart/42",
		"header:x-user":  "ada",
		"cookie:session": "s3",
		"cookie:absent":  "",
		"none":           "",
		"":               "",
	} {
		key, err := balancer.ParseKey(spec)
		require.NoError(t, err, spec)
		assert.Equal(t, want, key(r), "key %q", spec)
	}
	for _, spec := range []string{"host", "header:", "cookie"} {
		_, err := balancer.ParseKey(spec)
		assert.ErrorIs(t, err, balancer.ErrBadKey, spec)
	}
}

// net/http's server moves a request's Host header into r.Host and out of
// r.Header, so header:Host read from r.Header would be empty for every
// request: accepted, yet no request would be hashed.
func TestHostHeaderKeyIsTheRequestsHost(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "http://shop.example/cart", nil)
	require.Empty(t, r.Header.Values("Host"), "as a server's request")
	for _, spec := range []string{"header:Host", "header:host"} {
		key, err := balancer.ParseKey(spec)
		require.NoError(t, err, spec)
		assert.Equal(t, "shop.example", key(r), "key %q", spec)
	}
}

// A listener that is not TCP may leave no port in RemoteAddr: a Unix
// socket's is "@" or empty, and a middleware that takes the address from
// a trusted proxy's header may set it to a bare IP. The ip key is then the
// whole address, so those clients still hash apart rather than all to "".
func TestIPKeyWithoutAPortIsTheWholeAddress(t *testing.T) {
	key, err := balancer.ParseKey("ip")
	require.NoError(t, err)
	for _, addr := range []string{"192.0.2.7", "2001:db8::7", "@"} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = addr
		assert.Equal(t, addr, key(r), "RemoteAddr %q", addr)
	}
}

// A Report names an id, not a pick: one that arrives after its backend
// was removed and added again counts for the backend now in the pool, as
// the Balancer interface says (stage 06 removes and re-adds a backend as
// its active health check sees it go down and come back).
func TestReportAfterReAddCountsForTheNewBackend(t *testing.T) {
	for _, name := range balancer.Names() {
		b := newWith(t, name, 0, balancer.Options{}) // max_fails 1
		require.NoError(t, b.Add("a", 1))
		id, err := b.Pick("k")
		require.NoError(t, err)
		require.NoError(t, b.Remove(id))
		require.NoError(t, b.Add(id, 1))
		b.Report(id, balancer.Failure) // the request picked before the removal
		_, err = b.Pick("k")
		assert.ErrorIs(t, err, balancer.ErrNoBackend, "%s: the stale report's failure counts for the re-added backend", name)
	}
}

// inTurn picks n times from b with no key, reporting each pick a success
// at once (nothing stays in flight), and returns the picks in order.
func inTurn(t *testing.T, b balancer.Balancer, n int) []string {
	t.Helper()
	var picks []string
	for range n {
		id, err := b.Pick("")
		require.NoError(t, err)
		b.Report(id, balancer.Success)
		picks = append(picks, id)
	}
	return picks
}
