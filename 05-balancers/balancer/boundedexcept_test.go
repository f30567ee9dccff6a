package balancer

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBoundedLoadPickExceptKeepsTheBound: a retry's pick (PickExcept) is
// a request like any other, and goes only to a backend below its
// capacity ceil(c * load * weight / live weight), where the load is the
// requests the live backends hold with this one, skipped backends' too.
// c = 1.25, requests held, a skipped (the backend a retry has tried).
//
// Weights a:1, b:1, c:1 (live weight 3), the least loaded below capacity
// first, b on a tie:
//
//	load 1 cap 1: b c idle, b        load 2 cap 1: b full, c
//	load 3 cap 2: b                   load 4 cap 2: b full, c
//	load 5 cap 3: b                   load 6 cap 3: b full, c
//	load 7 cap ceil(8.75/3) = 3: b and c full: ErrNoBackend
//
// where the old PickExcept, blind to capacity, put a fourth on b. Not
// skipped, a (idle, capacity 3) takes the seventh. A skipped backend's
// requests still count in the load: with a's seventh in flight, the next
// retry makes the load 8 and the capacities ceil(10/3) = 4, so b takes a
// fourth (left out, the load would be 7 and b and c still full). And
// once a's and two of b's end, b is below its capacity again (load 6,
// capacity ceil(7.5/3) = 3: 3 of 3 for c, 2 of 3 for b).
//
// Weights a:2, b:1, c:1 (live weight 4): a skipped backend's weight
// still counts, so b's and c's capacities are ceil(1.25 * load / 4):
//
//	load 1 cap 1: b    load 2 cap 1: b full, c    load 3 cap 1: both full
//
// and a, not skipped, takes the third (capacity ceil(1.25 * 3 * 2/4) = 2).
func TestBoundedLoadPickExceptKeepsTheBound(t *testing.T) {
	notA := func(id string) bool { return id == "a" }
	none := func(string) bool { return false }
	picks := func(t *testing.T, b *BoundedLoad, n int) []string {
		t.Helper()
		var got []string
		for range n {
			id, err := b.PickExcept(notA)
			require.NoError(t, err)
			got = append(got, id)
		}
		return got
	}

	t.Run("equal weights", func(t *testing.T) {
		b, err := NewBoundedLoad(Options{}) // c = 1.25
		require.NoError(t, err)
		for _, id := range []string{"a", "b", "c"} {
			require.NoError(t, b.Add(id, 1))
		}
		require.Equal(t, []string{"b", "c", "b", "c", "b", "c"}, picks(t, b, 6))
		_, err = b.PickExcept(notA)
		assert.ErrorIs(t, err, ErrNoBackend, "load 7: b and c hold their capacity of 3")
		assert.EqualError(t, err, "no backend available: every backend up and not skipped is at its bounded-load capacity")
		for _, id := range []string{"b", "c"} {
			i, _ := b.pool.Index(id)
			assert.Equal(t, 3, b.pool.Peers[i].InFlight, "%s is at its capacity and took no more", id)
		}

		id, err := b.PickExcept(none)
		require.NoError(t, err)
		assert.Equal(t, "a", id, "not skipped, a is the one below its capacity")
		assert.Equal(t, []string{"b"}, picks(t, b, 1), "a's request counts in the load: 8, capacity 4")
		b.Report("a", Success)
		b.Report("b", Success)
		b.Report("b", Success)
		assert.Equal(t, []string{"b"}, picks(t, b, 1), "b holds 2 of its 3 again")
	})

	t.Run("weights", func(t *testing.T) {
		b, err := NewBoundedLoad(Options{})
		require.NoError(t, err)
		require.NoError(t, b.Add("a", 2))
		require.NoError(t, b.Add("b", 1))
		require.NoError(t, b.Add("c", 1))
		require.Equal(t, []string{"b", "c"}, picks(t, b, 2))
		_, err = b.PickExcept(notA)
		assert.ErrorIs(t, err, ErrNoBackend, "load 3: b and c hold their capacity of 1")
		id, err := b.PickExcept(none)
		require.NoError(t, err)
		assert.Equal(t, "a", id, "not skipped, a is below its capacity of ceil(1.25 × 3 × 2/4) = 2")
	})
}
