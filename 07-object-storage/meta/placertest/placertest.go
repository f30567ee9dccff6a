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
		got := p.Place(hash(i), slices.Clone(s))
		if len(got) == 0 {
			t.Fatalf("Place(%s..., %v) returned no servers; want every server, the first one for the blob's first copy", hash(i)[:8], s)
		}
		first[got[0]]++
	}
	for _, srv := range s {
		if c := first[srv]; c < n/4*6/10 || c > n/4*14/10 {
			t.Errorf("server %s comes first for %d of %d blobs; want about %d (within 40%%)", srv, c, n, n/4)
		}
	}
}

// firsts returns each of n blobs' first server. Placements are made set
// by set, not blob by blob, so a placer that caches per server set (as
// meta.Ring does) is not rebuilt on every call.
func firsts(t *testing.T, p meta.Placer, servers []string, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range n {
		got := p.Place(hash(i), slices.Clone(servers))
		if len(got) == 0 {
			t.Fatalf("Place(%s..., %v) returned no servers; want every server, the first one for the blob's first copy", hash(i)[:8], servers)
		}
		out[i] = got[0]
	}
	return out
}

func movesLittle(t *testing.T, p meta.Placer) {
	all := servers(5)
	gone := all[2]
	rest := slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == gone })
	before, after := firsts(t, p, all, 1000), firsts(t, p, rest, 1000)
	for i := range before {
		if before[i] != gone && before[i] != after[i] {
			t.Fatalf("blob %d moved from %s to %s although only %s left: consistent placement moves only the leaver's blobs", i, before[i], after[i], gone)
		}
	}
}

func movesLittleOnJoin(t *testing.T, p meta.Placer) {
	joined := servers(5)[4]
	before, after := firsts(t, p, servers(4), 1000), firsts(t, p, servers(5), 1000)
	for i := range before {
		if before[i] != after[i] && after[i] != joined {
			t.Fatalf("blob %d moved from %s to %s when %s joined: it should stay, or go to the newcomer", i, before[i], after[i], joined)
		}
	}
}
