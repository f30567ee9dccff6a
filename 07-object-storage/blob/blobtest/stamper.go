package blobtest

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// stamperChecks run only on a store that is a blob.Stamper. A store that
// is not one passes without them: stamps are optional, and a data server
// whose store has none carries out every DELETE it gets.
var stamperChecks = []struct {
	name string
	run  func(t *testing.T, s blob.Store, st blob.Stamper)
}{
	{"StampMissing", stampMissing},
	{"PutGivesAStamp", putGivesAStamp},
	{"TouchMovesForward", touchMovesForward},
	{"ConcurrentTouches", concurrentTouches},
	{"RemoveStamped", removeStamped},
	{"AnyNumberIsAStamp", anyNumberIsAStamp},
	{"TouchFencesRemoveStamped", touchFencesRemoveStamped},
	{"TouchAndRemove", touchAndRemove},
	{"TouchNeverRepeatsAStamp", touchNeverRepeatsAStamp},
}

// touchNeverRepeatsAStamp checks that a Touch never gives blob h a stamp
// it had before, even in a copy removed (both ways) and put again: a
// stamp that comes back lets a late removal meant for the old copy
// remove the new one, after the new one has been counted.
func touchNeverRepeatsAStamp(t *testing.T, s blob.Store, st blob.Stamper) {
	h := mustPut(t, s, hello)
	seen := []int64{stampOf(t, st, h)}
	touch := func(when string) {
		t.Helper()
		got, err := st.Touch(h)
		if err != nil {
			t.Fatalf("Touch %s failed: %v", when, err)
		}
		if slices.Contains(seen, got) {
			t.Fatalf("Touch %s returned stamp %d, which the blob had before (stamps so far %v): a late RemoveStamped meant for an older copy would remove this one", when, got, seen)
		}
		seen = append(seen, got)
	}
	touch("of the first copy")
	if err := st.RemoveStamped(h, seen[len(seen)-1]); err != nil {
		t.Fatalf("RemoveStamped with the current stamp failed: %v", err)
	}
	mustPut(t, s, hello)
	seen = append(seen, stampOf(t, st, h))
	touch("of a copy put again after RemoveStamped")
	if err := s.Remove(h); err != nil {
		t.Fatalf("Remove failed: %v", err)
	}
	mustPut(t, s, hello)
	seen = append(seen, stampOf(t, st, h))
	touch("of a copy put again after Remove")
}

// testStamper runs stamperChecks on fresh stores made by newStore, or
// skips them, saying why, if the store is not a blob.Stamper.
func testStamper(t *testing.T, newStore func(t *testing.T) blob.Store) {
	if _, ok := newStore(t).(blob.Stamper); !ok {
		t.Skip("the store is not a blob.Stamper, so the checks of Stamp, Touch and RemoveStamped are skipped: stamps are optional (without them a data server cannot refuse a late DELETE)")
	}
	for _, c := range stamperChecks {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			c.run(t, s, s.(blob.Stamper))
		})
	}
}

func stampOf(t *testing.T, st blob.Stamper, h blob.Hash) int64 {
	t.Helper()
	stamp, err := st.Stamp(h)
	if err != nil {
		t.Fatalf("Stamp of a stored blob failed: %v", err)
	}
	return stamp
}

func stampMissing(t *testing.T, _ blob.Store, st blob.Stamper) {
	if _, err := st.Stamp(helloSum); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stamp of a blob never put returned %v, want an error wrapping blob.ErrNotFound", err)
	}
	if _, err := st.Touch(helloSum); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Touch of a blob never put returned %v, want an error wrapping blob.ErrNotFound", err)
	}
	if err := st.RemoveStamped(helloSum, 0); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("RemoveStamped of a blob never put returned %v, want an error wrapping blob.ErrNotFound", err)
	}
}

// A blob has a stamp from its Put on, and only a Touch moves it: GC
// names the stamp an inventory listed, and a stamp that moved by itself
// would refuse every DELETE.
func putGivesAStamp(t *testing.T, s blob.Store, st blob.Stamper) {
	h := mustPut(t, s, hello)
	first := stampOf(t, st, h)
	if again := stampOf(t, st, h); again != first {
		t.Errorf("Stamp of a blob nobody touched returned %d, then %d: only Touch may move a stamp", first, again)
	}
}

func touchMovesForward(t *testing.T, s blob.Store, st blob.Stamper) {
	h := mustPut(t, s, hello)
	prev := stampOf(t, st, h)
	for i := range 3 {
		got, err := st.Touch(h)
		if err != nil {
			t.Fatalf("Touch %d of a stored blob failed: %v", i+1, err)
		}
		if got <= prev {
			t.Errorf("Touch %d returned stamp %d, not after the %d before it: a stamp must move strictly forward", i+1, got, prev)
		}
		if now := stampOf(t, st, h); now != got {
			t.Errorf("Touch %d returned stamp %d, but Stamp then returned %d", i+1, got, now)
		}
		prev = got
	}
}

// Touches from many goroutines at once (many commits confirming one
// copy) each get a stamp of their own, and the last one stored is the
// largest: a Touch that reads the stamp, then writes it outside the lock
// another Touch holds, hands out one stamp twice or moves it back.
func concurrentTouches(t *testing.T, s blob.Store, st blob.Stamper) {
	const goroutines, each = 8, 50
	h := mustPut(t, s, hello)
	first := stampOf(t, st, h)
	var wg sync.WaitGroup
	got := make([][]int64, goroutines)
	errs := make([]error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for range each {
				stamp, err := st.Touch(h)
				if err != nil {
					errs[g] = err
					return
				}
				got[g] = append(got[g], stamp)
			}
		})
	}
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			t.Fatalf("Touch from goroutine %d of %d running at once failed: %v", g, goroutines, err)
		}
	}
	all := slices.Sorted(slices.Values(slices.Concat(got...)))
	if n := len(slices.Compact(slices.Clone(all))); n != len(all) {
		t.Errorf("%d Touches at once returned only %d different stamps: two Touches must never return the same one", len(all), n)
	}
	if all[0] <= first {
		t.Errorf("a Touch returned stamp %d, not after the stamp %d the blob had before", all[0], first)
	}
	if last := stampOf(t, st, h); last != all[len(all)-1] {
		t.Errorf("after %d Touches at once, Stamp returned %d, but the largest stamp a Touch returned was %d", len(all), last, all[len(all)-1])
	}
}

// A removal that names the blob's current stamp removes it; one that
// names a stamp from before a Touch is refused and removes nothing.
func removeStamped(t *testing.T, s blob.Store, st blob.Stamper) {
	h := mustPut(t, s, hello)
	seen := stampOf(t, st, h)
	if _, err := st.Touch(h); err != nil {
		t.Fatalf("Touch of a stored blob failed: %v", err)
	}
	if err := st.RemoveStamped(h, seen); !errors.Is(err, blob.ErrStampChanged) {
		t.Errorf("RemoveStamped with the stamp from before a Touch returned %v, want an error wrapping blob.ErrStampChanged", err)
	}
	if _, err := s.Stat(h); err != nil {
		t.Fatalf("after a RemoveStamped with an old stamp, Stat returned %v: the refused removal removed the blob", err)
	}

	if err := st.RemoveStamped(h, stampOf(t, st, h)); err != nil {
		t.Fatalf("RemoveStamped with the blob's current stamp failed: %v", err)
	}
	assertAbsent(t, s, h, "RemoveStamped with the current stamp")
	if err := st.RemoveStamped(h, seen); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("RemoveStamped of a removed blob returned %v, want an error wrapping blob.ErrNotFound", err)
	}
	if _, err := st.Touch(h); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Touch of a removed blob returned %v, want an error wrapping blob.ErrNotFound", err)
	}
}

// A stamp is a number compared for equality, nothing more: 0 (where a
// counter may start) or -1 is not "no stamp" or "any stamp".
func anyNumberIsAStamp(t *testing.T, s blob.Store, st blob.Stamper) {
	h := mustPut(t, s, hello)
	stamp := stampOf(t, st, h)
	for _, other := range []int64{0, -1, stamp - 1, stamp + 1} {
		if other == stamp {
			continue
		}
		if err := st.RemoveStamped(h, other); !errors.Is(err, blob.ErrStampChanged) {
			t.Errorf("the blob's stamp is %d; RemoveStamped with %d returned %v, want an error wrapping blob.ErrStampChanged", stamp, other, err)
		}
		if _, err := s.Stat(h); err != nil {
			t.Fatalf("the blob's stamp is %d; after RemoveStamped with %d, Stat returned %v: the refused removal removed the blob", stamp, other, err)
		}
	}
	if err := st.RemoveStamped(h, stamp); err != nil {
		t.Errorf("RemoveStamped with the blob's stamp, %d, failed: %v", stamp, err)
	}
	assertAbsent(t, s, h, "RemoveStamped with the current stamp")
}

// rounds is how often the checks below race two calls. A store whose
// calls are not serialised fails only when they interleave, which these
// rounds (and -race) make likely, not certain; a store whose calls are
// serialised passes every time.
const rounds = 100

// The fence: Touch and RemoveStamped with the stamp read before the
// Touch, at once, act in one order or the other, never both. Either the
// Touch comes first and the removal is refused, or the removal comes
// first and the Touch finds no blob. A store that compares, then lets
// the Touch in, then removes, removes a copy that was just counted.
func touchFencesRemoveStamped(t *testing.T, s blob.Store, st blob.Stamper) {
	for i := range rounds {
		if _, err := s.Stat(helloSum); errors.Is(err, blob.ErrNotFound) {
			mustPut(t, s, hello)
		}
		seen := stampOf(t, st, helloSum)
		var touchErr, removeErr error
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { <-start; _, touchErr = st.Touch(helloSum) })
		wg.Go(func() { <-start; removeErr = st.RemoveStamped(helloSum, seen) })
		close(start)
		wg.Wait()
		_, statErr := s.Stat(helloSum)
		switch {
		case touchErr == nil && errors.Is(removeErr, blob.ErrStampChanged) && statErr == nil:
			// The Touch came first.
		case errors.Is(touchErr, blob.ErrNotFound) && removeErr == nil && errors.Is(statErr, blob.ErrNotFound):
			// The removal came first.
		default:
			t.Fatalf("round %d: Touch and RemoveStamped with the stamp from before it, at once: Touch returned %v, RemoveStamped %v, then Stat %v; want Touch nil, RemoveStamped blob.ErrStampChanged and the blob kept, or RemoveStamped nil, Touch blob.ErrNotFound and the blob gone: the two must not interleave", i, touchErr, removeErr, statErr)
		}
	}
}

// A plain Remove at once with a Touch removes the blob and its stamp
// whatever the order: a Touch must not bring back a stamp, or a blob,
// that Remove took away.
func touchAndRemove(t *testing.T, s blob.Store, st blob.Stamper) {
	for i := range rounds {
		mustPut(t, s, hello)
		var touchErr, removeErr error
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { <-start; _, touchErr = st.Touch(helloSum) })
		wg.Go(func() { <-start; removeErr = s.Remove(helloSum) })
		close(start)
		wg.Wait()
		if removeErr != nil {
			t.Fatalf("round %d: Remove at once with a Touch failed: %v", i, removeErr)
		}
		if touchErr != nil && !errors.Is(touchErr, blob.ErrNotFound) {
			t.Errorf("round %d: Touch at once with a Remove returned %v, want nil or an error wrapping blob.ErrNotFound", i, touchErr)
		}
		if _, err := st.Stamp(helloSum); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("round %d: after Remove and Touch at once, Stamp returned %v, want an error wrapping blob.ErrNotFound: the Touch brought the blob's stamp back", i, err)
		}
		assertAbsent(t, s, helloSum, "Remove and Touch at once")
	}
}
