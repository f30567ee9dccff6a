package balancer_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/05-balancers/balancer"
)

// points is a hash with the values of a ring small enough to walk by
// hand: one point per backend (Replicas 1), so "a#0" is a's only point.
func points(at map[string]uint64) func(string) uint64 {
	return func(s string) uint64 {
		h, ok := at[s]
		if !ok {
			panic(fmt.Sprintf("the test's ring has no point for %q", s))
		}
		return h
	}
}

// skipping returns a skip function that skips ids.
// ringOfFour returns balancer name (chash or bounded) over a, b, c and d
// of weight 1, one point each where hash puts "a#0" to "d#0", passive
// health taking a backend out at its first failure for a second, on the
// clock *now.
func ringOfFour(t *testing.T, name string, hash func(string) uint64, now *time.Time) balancer.Balancer {
	t.Helper()
	b, err := balancer.New(name, balancer.Options{
		Replicas: 1, Hash: hash,
		Health: balancer.Health{MaxFails: 1, FailTimeout: time.Second},
		Now:    func() time.Time { return *now },
	})
	require.NoError(t, err)
	for _, id := range []string{"a", "b", "c", "d"} {
		require.NoError(t, b.Add(id, 1))
	}
	return b
}

func skipping(ids ...string) func(string) bool {
	return func(id string) bool { return slices.Contains(ids, id) }
}

// TestPickNextWalksOnFromTheKey: a retry's pick walks on clockwise from
// the key's own point past the backends skipped (tried) and down, so it
// lands where the key would move if those backends left the ring. The
// ring, worked out by hand:
//
//	a 10   b 20   c 30   d 40      key k at 15, key w at 45
//
// k belongs to b, and walks on b c d a; w is past the last point and
// wraps: a b c d. PickExcept, blind to the ring, would take a, the
// first added of the idle backends, for every retry here.
func TestPickNextWalksOnFromTheKey(t *testing.T) {
	hash := points(map[string]uint64{"a#0": 10, "b#0": 20, "c#0": 30, "d#0": 40, "k": 15, "w": 45})
	for _, name := range []string{"chash", "bounded"} {
		t.Run(name, func(t *testing.T) {
			now := time.Unix(1e9, 0)
			b := ringOfFour(t, name, hash, &now)
			n, ok := b.(balancer.NextPicker)
			require.True(t, ok, "%s is a NextPicker", name)
			next := func(key string, skip func(string) bool) string {
				t.Helper()
				id, err := n.PickNext(key, skip)
				require.NoError(t, err)
				b.Report(id, balancer.Success)
				return id
			}

			assert.Equal(t, "b", next("k", skipping()), "nothing skipped: k's own backend, as Pick")
			assert.Equal(t, "c", next("k", skipping("b")), "skip one: the next clockwise")
			assert.Equal(t, "d", next("k", skipping("b", "c")), "skip two: the one after")
			assert.Equal(t, "a", next("k", skipping("b", "c", "d")), "skip three: around past the last point")
			assert.Equal(t, "b", next("w", skipping("a")), "w wraps to a, and walks on to b")

			b.Report("c", balancer.Failure) // max_fails 1: c is down for a second
			assert.Equal(t, "d", next("k", skipping("b")), "a down backend is walked past")
			_, err := n.PickNext("k", skipping("a", "b", "d"))
			assert.EqualError(t, err, "no backend available: every backend up is skipped", "the only backend left is down")
			assert.True(t, errors.Is(err, balancer.ErrNoBackend))
			_, err = n.PickNext("k", skipping("a", "b", "c", "d"))
			assert.True(t, errors.Is(err, balancer.ErrNoBackend), "every backend tried: %v", err)

			assert.Equal(t, "a", next("", skipping("b")), "an empty key has no point: the keyless round skipping b, from all-zero weights the first added")
			_, err = n.PickNext("", skipping("a", "b", "d"))
			assert.EqualError(t, err, "no backend available: every backend up is skipped", "an empty key, the only backend left down")
		})
	}
}

// TestPickNextCountsItsPick: a pick for a retry is in flight until its
// Report, like any other, and a pool's errors are Pick's.
func TestPickNextCountsItsPick(t *testing.T) {
	hash := points(map[string]uint64{"a#0": 10, "b#0": 20, "k": 15})
	for _, name := range []string{"chash", "bounded"} {
		t.Run(name, func(t *testing.T) {
			b, err := balancer.New(name, balancer.Options{Replicas: 1, Hash: hash})
			require.NoError(t, err)
			n := b.(balancer.NextPicker)
			_, err = n.PickNext("k", skipping())
			assert.EqualError(t, err, "no backend available: the pool is empty")
			require.NoError(t, b.Add("a", 1))
			require.NoError(t, b.Add("b", 1))
			id, err := n.PickNext("k", skipping("b"))
			require.NoError(t, err)
			require.Equal(t, "a", id)
			// Least connections' view of the same pool: the pick is held.
			e := b.(excepter)
			other, err := e.PickExcept(skipping())
			require.NoError(t, err)
			assert.Equal(t, "b", other, "a holds PickNext's request: b is the least loaded")
			b.Report(id, balancer.Success)
			b.Report(other, balancer.Success)
		})
	}
}

// TestBoundedLoadPickNextKeepsTheBound: bounded loads' walk for a retry
// takes the next backend clockwise that is up, not skipped and below its
// capacity ceil(c * load * weight / live weight); the skipped backend is
// still a bin (its weight counts). c = 1.25, weights 1 (live weight 3),
// requests held, b skipped, on the ring
//
//	a 10   b 20   c 30      key k at 15: b c a
//
//	load 1 cap 1: c          load 2 cap 1: c full, a
//	load 3 cap 2: c          load 4 cap 2: c full, a
//	load 5 cap 3: c          load 6 cap 3: c full, a
//	load 7 cap ceil(8.75/3) = 3: c and a full: ErrNoBackend
//
// where a walk blind to capacity gives c seven times. Not skipped, b
// (idle) takes the seventh; and with b's request in flight, a retry that
// skips b makes the load 8 and the capacities ceil(10/3) = 4: the
// skipped backend's requests count in the load, so c takes a fourth.
func TestBoundedLoadPickNextKeepsTheBound(t *testing.T) {
	hash := points(map[string]uint64{"a#0": 10, "b#0": 20, "c#0": 30, "k": 15})
	b, err := balancer.NewBoundedLoad(balancer.Options{Replicas: 1, Hash: hash, LoadFactor: 1.25})
	require.NoError(t, err)
	for _, id := range []string{"a", "b", "c"} {
		require.NoError(t, b.Add(id, 1))
	}
	var got []string
	for range 6 {
		id, err := b.PickNext("k", skipping("b"))
		require.NoError(t, err)
		got = append(got, id)
	}
	assert.Equal(t, []string{"c", "a", "c", "a", "c", "a"}, got)
	_, err = b.PickNext("k", skipping("b"))
	assert.EqualError(t, err, "no backend available: every backend up and not skipped is at its bounded-load capacity")
	assert.True(t, errors.Is(err, balancer.ErrNoBackend))
	id, err := b.PickNext("k", skipping())
	require.NoError(t, err)
	assert.Equal(t, "b", id, "not skipped, b is below its capacity")
	id, err = b.PickNext("k", skipping("b"))
	require.NoError(t, err, "b's request counts in the load: 8, capacity 4")
	assert.Equal(t, "c", id, "c, holding 3, is below its capacity of 4")
}

// TestMaglevIsNoNextPicker: Maglev's retries are left to Pick and
// PickExcept, since the next slot's owner is not where a key moves when
// its backend leaves (see NextPicker); the other algorithms have no ring.
func TestMaglevIsNoNextPicker(t *testing.T) {
	for _, name := range balancer.Names() {
		b := newWith(t, name, 0, balancer.Options{})
		_, ok := b.(balancer.NextPicker)
		assert.Equal(t, name == "chash" || name == "bounded", ok, "%s: NextPicker", name)
	}
}

// TestPickNextProbesABackendWhoseTimeoutPassed: the walk counts health
// as Pick does. A backend down (max_fails reached) is passed over until
// more than fail_timeout has gone by; then the walk lets one request
// through to it, a probe, as nginx's chash walk does (its check is
// now - checked <= fail_timeout), and while the probe is out the backend
// is passed over again. With every backend down, the error says so. Same
// ring as TestPickNextWalksOnFromTheKey: k at 15 walks b c d a.
func TestPickNextProbesABackendWhoseTimeoutPassed(t *testing.T) {
	hash := points(map[string]uint64{"a#0": 10, "b#0": 20, "c#0": 30, "d#0": 40, "k": 15})
	for _, name := range []string{"chash", "bounded"} {
		t.Run(name, func(t *testing.T) {
			now := time.Unix(1e9, 0)
			b := ringOfFour(t, name, hash, &now)
			n := b.(balancer.NextPicker)
			next := func() string {
				t.Helper()
				id, err := n.PickNext("k", skipping("b"))
				require.NoError(t, err)
				return id
			}

			b.Report("c", balancer.Failure) // down for a second
			d := next()
			assert.Equal(t, "d", d, "c is down")
			b.Report(d, balancer.Success)
			now = now.Add(time.Second)
			d = next()
			assert.Equal(t, "d", d, "at exactly fail_timeout c is still down, as nginx compares")
			b.Report(d, balancer.Success)
			now = now.Add(time.Millisecond)
			assert.Equal(t, "c", next(), "past fail_timeout: c gets a probe")
			assert.Equal(t, "d", next(), "while its probe is out, c is down again")

			for _, id := range []string{"a", "b", "c", "d"} {
				b.Report(id, balancer.Failure)
			}
			_, err := n.PickNext("k", skipping("b"))
			assert.EqualError(t, err, "no backend available: every backend is down")
		})
	}
}
