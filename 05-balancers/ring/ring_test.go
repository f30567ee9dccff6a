package ring_test

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/05-balancers/ring"
)

func TestEmptyRing(t *testing.T) {
	r := ring.New(0, nil)
	_, ok := r.Get("k")
	assert.False(t, ok, "Get on an empty ring")
	assert.Empty(t, r.GetN("k", 3))
}

// TestSearchIsTheFirstPointClockwise checks the binary search against a
// linear scan: the first point whose hash is at or after the key's, or the
// first point of all when the key is past the last.
func TestSearchIsTheFirstPointClockwise(t *testing.T) {
	r := ring.New(10, ring.FNV)
	for _, n := range []string{"A", "B", "C"} {
		r.Add(n, 1)
	}
	// The points, recovered through the public API: point i's hash is
	// found by hashing the virtual node names.
	type point struct {
		hash uint64
		node string
	}
	var points []point
	for _, n := range []string{"A", "B", "C"} {
		for i := range 10 {
			points = append(points, point{ring.FNV(fmt.Sprintf("%s#%d", n, i)), n})
		}
	}
	slices.SortFunc(points, func(a, b point) int {
		if a.hash < b.hash {
			return -1
		}
		return 1
	})
	// Besides ordinary keys, the virtual node names themselves: such a
	// key hashes exactly onto its point, and a key belongs to the point
	// at its hash, not only to one after it (as groupcache searches,
	// keys[i] >= hash). A search for the first point strictly after the
	// key passed every test while only ordinary keys were looked up.
	keys := make([]string, 0, 2000+len(points))
	for i := range 2000 {
		keys = append(keys, fmt.Sprint("key-", i))
	}
	for _, n := range []string{"A", "B", "C"} {
		for i := range 10 {
			keys = append(keys, fmt.Sprintf("%s#%d", n, i))
		}
	}
	for _, key := range keys {
		h := ring.FNV(key)
		want := points[0].node
		for _, p := range points {
			if p.hash >= h {
				want = p.node
				break
			}
		}
		got, ok := r.Get(key)
		require.True(t, ok)
		require.Equal(t, want, got, "key %q (hash %x)", key, h)
	}
}

func TestGetN(t *testing.T) {
	r := ring.New(50, nil)
	for _, n := range []string{"A", "B", "C", "D", "E"} {
		r.Add(n, 1)
	}
	for i := range 500 {
		key := fmt.Sprint("blob-", i)
		nodes := r.GetN(key, 3)
		require.Len(t, nodes, 3)
		first, _ := r.Get(key)
		assert.Equal(t, first, nodes[0], "GetN starts with the key's own node")
		slices.Sort(nodes)
		assert.Len(t, slices.Compact(nodes), 3, "GetN(%q, 3) returned a node twice", key)
	}
	assert.Len(t, r.GetN("k", 9), 5, "at most as many nodes as the ring has")

	// When the first node leaves, the others keep their order: the second
	// becomes the first, which is why replicas placed with GetN survive a
	// node's loss.
	for i := range 200 {
		key := fmt.Sprint("blob-", i)
		before := r.GetN(key, 3)
		r2 := ring.New(50, nil)
		for _, n := range []string{"A", "B", "C", "D", "E"} {
			if n != before[0] {
				r2.Add(n, 1)
			}
		}
		if diff := cmp.Diff(before[1:], r2.GetN(key, 2)); diff != "" {
			t.Fatalf("key %q: after removing %s (-want +got):\n%s", key, before[0], diff)
		}
	}
}

// TestSameRingWhateverTheOrder: two processes that add the same nodes in
// different orders build the same ring, so they send every key to the
// same node. Where two points have the same hash, the node name decides
// which comes first: 64-bit hashes seldom collide, but a 32-bit one such
// as CRC32 does (a thousand nodes of 160 points: about three pairs), so
// the test also runs with a hash of 3 bits, where every point has
// company.
func TestSameRingWhateverTheOrder(t *testing.T) {
	nodes := []string{"A", "B", "C", "D", "E", "F"}
	for name, hash := range map[string]ring.Hash{
		"FNV":                       ring.FNV,
		"a hash of 8 values (ties)": func(s string) uint64 { return ring.FNV(s) % 8 },
	} {
		r1 := ring.New(0, hash)
		for _, n := range nodes {
			r1.Add(n, 1)
		}
		r2 := ring.New(0, hash)
		for _, i := range rand.New(rand.NewPCG(1, 2)).Perm(len(nodes)) {
			r2.Add(nodes[i], 1)
		}
		for i := range 1000 {
			key := fmt.Sprint("k", i)
			a, _ := r1.Get(key)
			b, _ := r2.Get(key)
			require.Equal(t, a, b, "%s, key %q: two processes adding the same nodes in different orders disagree", name, key)
		}
	}
}

func TestWeightAndRemove(t *testing.T) {
	r := ring.New(0, ring.CRC32)
	r.Add("A", 1)
	r.Add("B", 2)
	assert.Equal(t, 3*ring.DefaultReplicas, r.Len(), "points: one set per unit of weight")
	count := map[string]int{}
	for i := range 30000 {
		n, _ := r.Get(fmt.Sprint("k", i))
		count[n]++
	}
	assert.InDelta(t, 2.0, float64(count["B"])/float64(count["A"]), 0.4, "B has twice A's weight: %v", count)

	r.Add("B", 1) // re-adding changes the weight
	assert.Equal(t, 2*ring.DefaultReplicas, r.Len())
	r.Remove("A")
	r.Remove("ghost")
	assert.Equal(t, 1, r.Nodes())
	n, _ := r.Get("anything")
	assert.Equal(t, "B", n)
}

// busiest returns the largest share of 100,000 keys that one of ten nodes
// (160 virtual nodes each) gets on a ring hashed with h, relative to the
// ideal tenth.
func busiest(h ring.Hash) float64 {
	r := ring.New(0, h)
	for i := range 10 {
		r.Add(fmt.Sprint("b", i), 1)
	}
	count := map[string]int{}
	for i := range 100000 {
		n, _ := r.Get(fmt.Sprint("key-", i))
		count[n]++
	}
	most := 0
	for _, c := range count {
		most = max(most, c)
	}
	return float64(most) / 10000
}

// FNV-1a alone mixes the last bytes of virtual node names ("...#1",
// "...#2") poorly into the high bits, and the points bunch up: one node
// gets about twice its share. ring.FNV's final mixing step spreads them.
func TestFNVSpreadsVirtualNodes(t *testing.T) {
	fnv1a := func(s string) uint64 {
		h := fnv.New64a()
		h.Write([]byte(s))
		return h.Sum64()
	}
	assert.Greater(t, busiest(fnv1a), 1.9, "FNV-1a alone: about twice its share, as the chapter says")
	assert.Less(t, busiest(ring.FNV), 1.2, "ring.FNV")
}

func BenchmarkGet(b *testing.B) {
	for _, nodes := range []int{3, 10, 100, 1000} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			r := ring.New(0, nil)
			for i := range nodes {
				r.Add(fmt.Sprint("node-", i), 1)
			}
			keys := make([]string, 1024)
			for i := range keys {
				keys[i] = fmt.Sprint("key-", i)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r.Get(keys[i%len(keys)])
				i++
			}
		})
	}
}

func TestParseHash(t *testing.T) {
	for name, key := range map[string]string{"": "k", "fnv": "k", "crc32": "k"} {
		h, err := ring.ParseHash(name)
		require.NoError(t, err, name)
		assert.Equal(t, h(key), h(key), "a hash is a function of its input")
	}
	h, _ := ring.ParseHash("crc32")
	assert.Equal(t, ring.CRC32("blob"), h("blob"))
	assert.NotEqual(t, ring.FNV("blob"), h("blob"))
	_, err := ring.ParseHash("md5")
	assert.ErrorIs(t, err, ring.ErrUnknownHash)
}

// TestHashesAllocateNothing: a key is hashed on every pick.
func TestHashesAllocateNothing(t *testing.T) {
	key := "a-key-longer-than-thirty-two-bytes-/users/42/cart?x=1"
	assert.Zero(t, testing.AllocsPerRun(100, func() { ring.FNV(key) }), "FNV")
	assert.Zero(t, testing.AllocsPerRun(100, func() { ring.CRC32(key) }), "CRC32")
}

// TestOnlyTheChangedNodesKeysMove: removing a node moves its own keys and
// no other, and adding one moves keys only to it, the promise of
// consistent hashing (the chapter: "Removing one of n backends moves only
// its own keys"). Counting the keys that moved, as the conformance suite
// does, would not notice a removal that also moved some of the other
// nodes' keys, as long as few moved in all.
func TestOnlyTheChangedNodesKeysMove(t *testing.T) {
	r := ring.New(0, nil)
	for i := range 10 {
		r.Add(fmt.Sprint("n", i), 1+i%3)
	}
	owners := func() []string {
		o := make([]string, 10000)
		for i := range o {
			o[i], _ = r.Get(fmt.Sprint("key-", i))
		}
		return o
	}
	before := owners()

	r.Remove("n4")
	afterRemove := owners()
	for i := range before {
		switch {
		case before[i] == "n4" && afterRemove[i] == "n4":
			t.Fatalf("key-%d stayed on n4 after n4 was removed", i)
		case before[i] != "n4" && afterRemove[i] != before[i]:
			t.Fatalf("removing n4 moved key-%d from %s to %s: only n4's keys may move", i, before[i], afterRemove[i])
		}
	}

	r.Add("n4", 2) // n4's weight, 1 + 4%3: the same points again
	if diff := cmp.Diff(before, owners()); diff != "" {
		t.Fatalf("n4 added back: keys did not all return to where they were (-before +now):\n%s", diff)
	}

	r.Add("new", 1)
	afterAdd := owners()
	moved := 0
	for i := range before {
		if afterAdd[i] != before[i] {
			moved++
			assert.Equal(t, "new", afterAdd[i], "adding node new moved key-%d from %s to another old node", i, before[i])
		}
	}
	assert.Positive(t, moved, "adding a node took no key")
}
