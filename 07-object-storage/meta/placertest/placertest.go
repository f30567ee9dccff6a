// Package placertest checks a meta.Placer: the function that orders data
// servers for a blob. Run it on your own from a test:
//
//	func TestMyPlacer(t *testing.T) { placertest.TestPlacer(t, MyPlacer{}) }
package placertest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"

	"github.com/gocourse/gateway/07-object-storage/meta"
)

// TestPlacer runs every check on p.
func TestPlacer(t *testing.T, p meta.Placer) {
	t.Run("EveryServerOnce", func(t *testing.T) { everyServerOnce(t, p) })
	t.Run("IgnoresInputOrder", func(t *testing.T) { ignoresInputOrder(t, p) })
	t.Run("Balanced", func(t *testing.T) { balanced(t, p) })
	t.Run("MovesLittleWhenAServerLeaves", func(t *testing.T) { movesLittle(t, p) })
	t.Run("MovesLittleWhenAServerJoins", func(t *testing.T) { movesLittleOnJoin(t, p) })
}

func servers(n int) []string {
	var s []string
	for i := range n {
		s = append(s, fmt.Sprintf("ds-%02d", i))
	}
	return s
}

func hash(i int) string {
	sum := sha256.Sum256([]byte(fmt.Sprint(i)))
	return hex.EncodeToString(sum[:])
}

func everyServerOnce(t *testing.T, p meta.Placer) {
	s := servers(5)
	for i := range 100 {
		got := p.Place(hash(i), slices.Clone(s))
		sorted := slices.Sorted(slices.Values(got))
		if !slices.Equal(sorted, s) {
			t.Fatalf("Place(%s..., %v) = %v; want every server exactly once", hash(i)[:8], s, got)
		}
	}
	if got := p.Place(hash(0), nil); len(got) != 0 {
		t.Errorf("Place with no servers = %v; want an empty order", got)
	}
}

func ignoresInputOrder(t *testing.T, p meta.Placer) {
	s := servers(5)
	r := slices.Clone(s)
	slices.Reverse(r)
	for i := range 100 {
		a, b := p.Place(hash(i), slices.Clone(s)), p.Place(hash(i), slices.Clone(r))
		if !slices.Equal(a, b) {
			t.Fatalf("the order depends on the order servers were listed in: %v and %v for the same blob; "+
				"two metadata servers (or one after a restart) would disagree", a, b)
		}
	}
}

func balanced(t *testing.T, p meta.Placer) {
	s := servers(4)
	first := map[string]int{}
	const n = 4000
	for i := range n {
		first[p.Place(hash(i), s)[0]]++
	}
	for _, srv := range s {
		if c := first[srv]; c < n/4*6/10 || c > n/4*14/10 {
			t.Errorf("server %s comes first for %d of %d blobs; want about %d (within 40%%)", srv, c, n, n/4)
		}
	}
}

func movesLittle(t *testing.T, p meta.Placer) {
	all := servers(5)
	gone := all[2]
	rest := slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == gone })
	for i := range 1000 {
		before, after := p.Place(hash(i), all), p.Place(hash(i), rest)
		if before[0] != gone && before[0] != after[0] {
			t.Fatalf("blob %d moved from %s to %s although only %s left: consistent placement moves only the leaver's blobs", i, before[0], after[0], gone)
		}
	}
}

func movesLittleOnJoin(t *testing.T, p meta.Placer) {
	before := servers(4)
	after := servers(5)
	joined := after[4]
	for i := range 1000 {
		a, b := p.Place(hash(i), before)[0], p.Place(hash(i), after)[0]
		if a != b && b != joined {
			t.Fatalf("blob %d moved from %s to %s when %s joined: it should stay, or go to the newcomer", i, a, b, joined)
		}
	}
}
