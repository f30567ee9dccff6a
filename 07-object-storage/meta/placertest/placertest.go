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
	"sync"
	"testing"

	"github.com/gocourse/gateway/07-object-storage/meta"
)

// TestPlacer runs every check on p. Every order p returns, in every
// check, must hold each server it was given exactly once.
func TestPlacer(t *testing.T, p meta.Placer) {
	t.Run("EveryServerOnce", func(t *testing.T) { everyServerOnce(t, p) })
	t.Run("FollowsTheServerSet", func(t *testing.T) { followsTheServerSet(t, p) })
	t.Run("SameOrderEveryTime", func(t *testing.T) { sameOrderEveryTime(t, p) })
	t.Run("IgnoresInputOrder", func(t *testing.T) { ignoresInputOrder(t, p) })
	t.Run("Balanced", func(t *testing.T) { balanced(t, p) })
	t.Run("MovesLittleWhenAServerLeaves", func(t *testing.T) { movesLittle(t, p) })
	t.Run("MovesLittleWhenAServerJoins", func(t *testing.T) { movesLittleOnJoin(t, p) })
	t.Run("SafeForConcurrentUse", func(t *testing.T) { safeForConcurrentUse(t, p) })
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

// place returns p's order for blob i, failing t unless it holds every
// server given exactly once: a server missing gets none of the blobs, one
// listed twice would hold two of a blob's R copies, and one not given
// (down, or gone) would be sent copies it cannot take.
func place(t *testing.T, p meta.Placer, i int, servers []string) []string {
	t.Helper()
	got := p.Place(hash(i), slices.Clone(servers))
	if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(servers))) {
		t.Fatalf("Place(%s..., %v) = %v; want every server given exactly once, and no other", hash(i)[:8], servers, got)
	}
	return got
}

func everyServerOnce(t *testing.T, p meta.Placer) {
	s := servers(5)
	for i := range 100 {
		place(t, p, i, s)
	}
	if got := p.Place(hash(0), nil); len(got) != 0 {
		t.Errorf("Place with no servers = %v; want an empty order", got)
	}
}

// followsTheServerSet gives p the same number of servers twice, but not
// the same servers: one went down and another joined between heartbeats.
// A placer that keeps what it built for a set must notice the change,
// and not by the count alone.
func followsTheServerSet(t *testing.T, p meta.Placer) {
	before := servers(5)
	after := append(slices.Clone(before[:4]), "ds-new")
	for _, s := range [][]string{before, after, before} {
		for i := range 100 {
			place(t, p, i, s)
		}
	}
}

// sameOrderEveryTime asks for each blob's order twice, with the same
// servers in the same order: a placer that mixes in the clock, random
// numbers or a count of its calls sends a blob's reader to servers its
// writer never used. Checked before the input order, so that such a
// placer is told what is wrong with it, not that it depends on the order.
func sameOrderEveryTime(t *testing.T, p meta.Placer) {
	s := servers(5)
	for i := range 100 {
		a, b := place(t, p, i, s), place(t, p, i, s)
		if !slices.Equal(a, b) {
			t.Fatalf("Place(%s..., %v) = %v, then %v: two orders for the same blob and servers; "+
				"the order must depend on them alone (no clock, no random numbers, nothing that changes between calls)", hash(i)[:8], s, a, b)
		}
	}
}

func ignoresInputOrder(t *testing.T, p meta.Placer) {
	s := servers(5)
	r := slices.Clone(s)
	slices.Reverse(r)
	for i := range 100 {
		a, b := place(t, p, i, s), place(t, p, i, r)
		if !slices.Equal(a, b) {
			t.Fatalf("the order depends on the order servers were listed in: %v and %v for the same blob; "+
				"two metadata servers (or one after a restart) would disagree", a, b)
		}
	}
}

// copies is how many places of an order balanced and the moves check:
// a blob's R copies go to its first R servers, and the course's default
// R is 2; 3 covers a cluster run with -replicas 3.
const copies = 3

// balanced checks the first server of each blob, which takes the blob's
// first copy, and the first two, which take both copies at the default
// R: a placer that sends every blob's second copy to one server loads it
// with a copy of nearly everything.
func balanced(t *testing.T, p meta.Placer) {
	s := servers(4)
	first, firstTwo := map[string]int{}, map[string]int{}
	const n = 4000
	for i := range n {
		got := place(t, p, i, s)
		first[got[0]]++
		firstTwo[got[0]]++
		firstTwo[got[1]]++
	}
	for _, srv := range s {
		if c := first[srv]; c < n/4*6/10 || c > n/4*14/10 {
			t.Errorf("server %s comes first for %d of %d blobs; want about %d (within 40%%)", srv, c, n, n/4)
		}
		if c := firstTwo[srv]; c < n/2*6/10 || c > n/2*14/10 {
			t.Errorf("server %s is among the first two for %d of %d blobs; want about %d (within 40%%): with 2 copies of each blob it holds too many or too few", srv, c, n, n/2)
		}
	}
}

// orders returns n blobs' orders. Placements are made set by set, not
// blob by blob, so a placer that caches per server set (as meta.Ring
// does) is not rebuilt on every call.
func orders(t *testing.T, p meta.Placer, servers []string, n int) [][]string {
	t.Helper()
	out := make([][]string, n)
	for i := range n {
		out[i] = place(t, p, i, servers)
	}
	return out
}

// without returns the first copies servers of order, leaving out gone.
func without(order []string, gone string) []string {
	rest := slices.DeleteFunc(slices.Clone(order), func(s string) bool { return s == gone })
	return rest[:min(copies, len(rest))]
}

// movesLittle checks that when a server leaves, every blob's first
// copies servers are those it had, less the leaver (and the next in line
// in its place): no copy moves between servers that stayed.
func movesLittle(t *testing.T, p meta.Placer) {
	all := servers(5)
	gone := all[2]
	rest := slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == gone })
	before, after := orders(t, p, all, 1000), orders(t, p, rest, 1000)
	for i := range before {
		if want, got := without(before[i], gone), after[i][:copies]; !slices.Equal(want, got) {
			t.Fatalf("blob %d's first %d servers went from %v to %v when only %s left; want %v: consistent placement moves only the leaver's copies", i, copies, before[i][:copies], got, gone, want)
		}
	}
}

// movesLittleOnJoin checks that when a server joins, every blob's first
// copies servers stay as they were, except that the newcomer may come in
// among them: no copy moves between servers that were there before.
func movesLittleOnJoin(t *testing.T, p meta.Placer) {
	joined := servers(5)[4]
	before, after := orders(t, p, servers(4), 1000), orders(t, p, servers(5), 1000)
	for i := range before {
		if want, got := before[i][:copies], without(after[i], joined); !slices.Equal(want, got) {
			t.Fatalf("blob %d's first %d servers went from %v to %v when %s joined: each copy should stay, or go to the newcomer", i, copies, want, after[i][:copies], joined)
		}
	}
}

// safeForConcurrentUse places from several goroutines at once, with two
// server sets in turn, as a metadata server's handlers and its repair
// round do. Run it with -race: only the race detector sees every
// unsynchronised access (a cache of the last set built, shared without a
// lock); without it, this fails only when the goroutines happen to hand
// back an order built for the other set.
func safeForConcurrentUse(t *testing.T, p meta.Placer) {
	// Sizes no other check uses: what an earlier check left in a placer's
	// cache (a check that failed half way) must not decide this one.
	sets := [][]string{servers(6), servers(3)}
	const goroutines, each = 4, 100
	var wg sync.WaitGroup
	wrong := make([]string, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				s := sets[(g+i)%2]
				got := p.Place(hash(i), slices.Clone(s))
				if !slices.Equal(slices.Sorted(slices.Values(got)), s) {
					wrong[g] = fmt.Sprintf("Place(%s..., %v) = %v", hash(i)[:8], s, got)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, w := range wrong {
		if w != "" {
			t.Errorf("placing from %d goroutines at once, %s; want every server given exactly once: is the placer safe for concurrent use?", goroutines, w)
		}
	}
}
