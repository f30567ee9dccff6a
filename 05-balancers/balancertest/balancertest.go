// Package balancertest checks that a balancer keeps the promises of the
// balancer.Balancer interface. One call runs every check as a named
// subtest, each failure saying in plain words which promise was broken:
//
//	func TestMine(t *testing.T) {
//		balancertest.TestBalancer(t, balancertest.Traits{Weighted: true},
//			func(opts balancer.Options) (balancer.Balancer, error) { return NewMine(opts), nil })
//	}
//
// Every balancer of the course passes it, and so must a learner's.
package balancertest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gocourse/gateway/05-balancers/balancer"
)

// Factory returns a new, empty balancer that uses opts: its clock, health
// settings and random source.
type Factory func(opts balancer.Options) (balancer.Balancer, error)

// Traits are the promises only some balancers make; the checks for them
// run only when they are set.
type Traits struct {
	// Weighted: over many picks, each backend's share is its share of the
	// total weight.
	Weighted bool
	// Hashed: equal keys go to the same backend, a backend that goes down
	// takes only its own keys with it, and adding or removing one backend
	// out of N moves about 1/N of the keys.
	Hashed bool
}

// Health is the health tracking the suite configures: a backend is down
// after MaxFails failures and comes back after FailTimeout.
var Health = balancer.Health{MaxFails: 2, FailTimeout: 10 * time.Second}

// MovedBound is how much worse than ideal a hash balancer may be when a
// backend is added or removed: at most MovedBound/N of the keys may move
// (ideal: 1/N).
const MovedBound = 2.0

// SpreadTolerance is how far a backend's share of picks may stray from its
// expected share, relatively: 0.3 allows 70% to 130%.
const SpreadTolerance = 0.3

// TestBalancer runs every check on balancers made by f.
func TestBalancer(t *testing.T, traits Traits, f Factory) {
	s := suite{f: f}
	t.Run("EmptyPool", s.emptyPool)
	t.Run("BadAddAndRemove", s.badAddAndRemove)
	t.Run("SingleBackend", s.singleBackend)
	t.Run("EveryBackendPicked", s.everyBackendPicked)
	t.Run("EvenSpread", s.evenSpread)
	if traits.Weighted {
		t.Run("WeightsRespected", s.weightsRespected)
		t.Run("WeightsRespectedWhileOneIsDown", s.weightsRespectedWhileOneIsDown)
	}
	t.Run("EvenSpreadWhileOneIsDown", s.evenSpreadWhileOneIsDown)
	t.Run("OnlyOneUp", s.onlyOneUp)
	t.Run("ConcurrentPicks", s.concurrentPicks)
	t.Run("DownSkippedAndReadmitted", s.downSkippedAndReadmitted)
	t.Run("FailedProbeKeepsDown", s.failedProbeKeepsDown)
	t.Run("OneProbeAtATime", s.oneProbeAtATime)
	t.Run("AllDown", s.allDown)
	t.Run("StrayReports", s.strayReports)
	if traits.Hashed {
		t.Run("SameKeySticks", s.sameKeySticks)
		t.Run("DownMovesOnlyItsKeys", s.downMovesOnlyItsKeys)
		t.Run("RemoveMovesAboutOneNth", s.removeMovesAboutOneNth)
		t.Run("AddMovesAboutOneNth", s.addMovesAboutOneNth)
	}
}

type suite struct{ f Factory }

// start is the fake clock's first reading.
var start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// build makes a balancer with the suite's options and one backend per
// weight, named a, b, c, ...
func (s suite) build(t *testing.T, clock *Clock, weights ...int) balancer.Balancer {
	t.Helper()
	b, err := s.f(balancer.Options{Health: Health, Now: clock.Now, Rand: rand.NewPCG(1, 2)})
	if err != nil {
		t.Fatalf("the factory failed: %v", err)
	}
	for i, w := range weights {
		if err := b.Add(name(i), w); err != nil {
			t.Fatalf("Add(%q, %d) failed: %v", name(i), w, err)
		}
	}
	return b
}

// name returns the suite's name of the i-th backend: a, b, c, ..., then b26, b27...
func name(i int) string {
	if i < 26 {
		return string(rune('a' + i))
	}
	return fmt.Sprintf("b%d", i)
}

// ones returns n weights of 1.
func ones(n int) []int {
	w := make([]int, n)
	for i := range w {
		w[i] = 1
	}
	return w
}

// key returns the i-th of the suite's request keys.
func key(i int) string { return fmt.Sprintf("key-%d", i) }

// tryPick is b.Pick, with a panic turned into an error (a *panicError),
// so that a Pick that panics fails the check that called it, in words,
// instead of ending the whole test binary with a stack trace.
func tryPick(b balancer.Balancer, key string) (id string, err error) {
	defer func() {
		if v := recover(); v != nil {
			id, err = "", &panicError{Value: v}
		}
	}()
	return b.Pick(key)
}

// panicError is the error the suite records for a Pick that panicked.
type panicError struct{ Value any }

func (e *panicError) Error() string { return fmt.Sprintf("Pick panicked: %v", e.Value) }

// pick picks for key and reports outcome, as a proxy would once the
// request is over.
func pick(b balancer.Balancer, key string, o balancer.Outcome) (string, error) {
	id, err := tryPick(b, key)
	if err == nil {
		b.Report(id, o)
	}
	return id, err
}

// mustPick is pick with a Success that fails the test on an error.
func mustPick(t *testing.T, b balancer.Balancer, key string) string {
	t.Helper()
	id, err := pick(b, key, balancer.Success)
	if err != nil {
		t.Fatalf("Pick(%q) failed with %v although backends are up", key, err)
	}
	return id
}

// counts picks n times, with a different key each time, and counts the
// picks of each backend.
func counts(t *testing.T, b balancer.Balancer, n int) map[string]int {
	t.Helper()
	c := map[string]int{}
	for i := range n {
		c[mustPick(t, b, key(i))]++
	}
	return c
}

func (s suite) emptyPool(t *testing.T) {
	b := s.build(t, NewClock(start))
	if _, err := tryPick(b, "k"); !errors.Is(err, balancer.ErrNoBackend) {
		t.Errorf("Pick on an empty balancer returned error %v, want one that matches ErrNoBackend (errors.Is)", err)
	}
	if err := b.Add("a", 1); err != nil {
		t.Fatalf("Add(a, 1): %v", err)
	}
	if err := b.Remove("a"); err != nil {
		t.Fatalf("Remove(a): %v", err)
	}
	if id, err := tryPick(b, "k"); !errors.Is(err, balancer.ErrNoBackend) {
		t.Errorf("after adding and removing the only backend, Pick returned %q, %v; want ErrNoBackend", id, err)
	}
}

func (s suite) badAddAndRemove(t *testing.T) {
	b := s.build(t, NewClock(start), 1)
	if err := b.Add("x", 0); !errors.Is(err, balancer.ErrBadWeight) {
		t.Errorf("Add with weight 0 returned %v, want ErrBadWeight", err)
	}
	if err := b.Add("x", balancer.MaxWeight+1); !errors.Is(err, balancer.ErrBadWeight) {
		t.Errorf("Add with weight MaxWeight+1 returned %v, want ErrBadWeight", err)
	}
	if err := b.Add("heavy", balancer.MaxWeight); err != nil {
		t.Errorf("Add with weight MaxWeight returned %v, want nil", err)
	} else if err := b.Remove("heavy"); err != nil {
		t.Errorf("removing backend heavy returned %v", err)
	}
	if err := b.Add("a", 1); !errors.Is(err, balancer.ErrDuplicateBackend) {
		t.Errorf("adding backend a twice returned %v, want ErrDuplicateBackend", err)
	}
	if err := b.Remove("nobody"); !errors.Is(err, balancer.ErrUnknownBackend) {
		t.Errorf("removing a backend never added returned %v, want ErrUnknownBackend", err)
	}
	if id := mustPick(t, b, "k"); id != "a" {
		t.Errorf("after the rejected calls, Pick returned %q, want the only backend a", id)
	}
}

func (s suite) singleBackend(t *testing.T) {
	b := s.build(t, NewClock(start), 3)
	for i := range 50 {
		if id := mustPick(t, b, key(i)); id != "a" {
			t.Fatalf("with one backend a, Pick(%q) returned %q", key(i), id)
		}
	}
}

func (s suite) everyBackendPicked(t *testing.T) {
	b := s.build(t, NewClock(start), ones(5)...)
	c := counts(t, b, 1000)
	for i := range 5 {
		if c[name(i)] == 0 {
			t.Errorf("backend %s was never picked in 1000 picks over 5 backends; picks: %v", name(i), c)
		}
	}
}

// checkShares fails unless each backend's share of total picks is within
// SpreadTolerance of its share of the weights. A weight of 0 stands for a
// backend that is down (Add takes no weight of 0), which must get none.
func checkShares(t *testing.T, c map[string]int, weights []int, total int) {
	t.Helper()
	sum := 0
	for _, w := range weights {
		sum += w
	}
	for i, w := range weights {
		want := float64(total) * float64(w) / float64(sum)
		got := float64(c[name(i)])
		if w == 0 {
			if got > 0 {
				t.Errorf("backend %s is down, yet it got %v of %d picks, want none; all: %v", name(i), got, total, c)
			}
			continue
		}
		if got < want*(1-SpreadTolerance) || got > want*(1+SpreadTolerance) {
			t.Errorf("backend %s (weight %d of %d, the weight of the backends up) got %v of %d picks, want about %.0f (within %.0f%%); all: %v",
				name(i), w, sum, got, total, want, SpreadTolerance*100, c)
		}
	}
}

func (s suite) evenSpread(t *testing.T) {
	const picks = 8000
	b := s.build(t, NewClock(start), ones(4)...)
	checkShares(t, counts(t, b, picks), ones(4), picks)
}

func (s suite) weightsRespected(t *testing.T) {
	const picks = 10000
	weights := []int{5, 1, 3, 1}
	b := s.build(t, NewClock(start), weights...)
	checkShares(t, counts(t, b, picks), weights, picks)
}

// weightsRespectedWhileOneIsDown: a backend that is down gives up its
// share to the live ones in proportion to their weights, not all of it to
// one neighbour (as a Pick does that draws from the total weight of every
// backend and, landing on a down one, takes the next live one).
func (s suite) weightsRespectedWhileOneIsDown(t *testing.T) {
	const picks = 10000
	b := s.build(t, NewClock(start), 5, 1, 3, 1)
	takeDown(t, b, "c", Health.MaxFails, 0)
	checkShares(t, counts(t, b, picks), []int{5, 1, 0, 1}, picks)
}

func (s suite) evenSpreadWhileOneIsDown(t *testing.T) {
	const picks = 8000
	b := s.build(t, NewClock(start), ones(4)...)
	takeDown(t, b, "b", Health.MaxFails, 0)
	checkShares(t, counts(t, b, picks), []int{1, 0, 1, 1}, picks)
}

// onlyOneUp: with 19 of 20 backends down, every pick finds the one up. A
// Pick that draws at random and, landing on a down backend, draws again
// a few times before it gives up passes the checks with one backend of
// four down, where ten draws all land on it once in a million picks;
// here 19 draws in 20 do, and it fails requests a live backend could
// take. (nginx's random, after 20 such draws, falls back to its round
// robin instead of failing.)
func (s suite) onlyOneUp(t *testing.T) {
	const n = 20
	b := s.build(t, NewClock(start), ones(n)...)
	survivor := name(n - 1) // the last: a Pick that takes the first up can still reach each of the others
	k, up := 0, n
	for i := range n {
		victim := name(i)
		if victim == survivor {
			continue
		}
		for range Health.MaxFails {
			for tries := 0; ; tries++ {
				if tries == 1000 {
					t.Fatalf("backend %s was not picked in 1000 picks (while taking it down; %d of %d backends up)", victim, up, n)
				}
				id, err := tryPick(b, key(k))
				if err != nil {
					t.Fatalf("with %d of %d backends up, Pick(%q) failed with %v: a Pick must find a backend that is up however few are", up, n, key(k), err)
				}
				k++
				if id == victim {
					b.Report(id, balancer.Failure)
					break
				}
				b.Report(id, balancer.Success)
			}
		}
		up--
	}
	for i := range 500 {
		id, err := tryPick(b, key(k+i))
		if err != nil {
			t.Fatalf("with only backend %s of %d up, Pick(%q) failed with %v: a Pick must find the backend that is up, however many are down", survivor, n, key(k+i), err)
		}
		b.Report(id, balancer.Success)
		if id != survivor {
			t.Fatalf("with only backend %s of %d up, Pick(%q) returned %s, which is down", survivor, n, key(k+i), id)
		}
	}
}

func (s suite) concurrentPicks(t *testing.T) {
	b := s.build(t, NewClock(start), 1, 2, 3)
	known := []string{"a", "b", "c", "extra"}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 300 {
				k := fmt.Sprintf("g%d-%d", g, i)
				id, err := tryPick(b, k)
				if err != nil {
					t.Errorf("concurrent Pick(%q) failed with %v while backends a, b, c were up", k, err)
					return
				}
				if !slices.Contains(known, id) {
					t.Errorf("concurrent Pick(%q) returned %q, which was never added", k, id)
					return
				}
				b.Report(id, balancer.Success)
			}
		})
	}
	wg.Go(func() { // the pool changes while requests are picked
		for range 30 {
			if err := b.Add("extra", 1); err != nil {
				t.Errorf("Add(extra) during concurrent picks: %v", err)
				return
			}
			if err := b.Remove("extra"); err != nil {
				t.Errorf("Remove(extra) during concurrent picks: %v", err)
				return
			}
		}
	})
	wg.Wait()
}

// takeDown picks with varied keys until victim comes up, and reports a
// failure for it; it does so fails times. Other picks succeed.
func takeDown(t *testing.T, b balancer.Balancer, victim string, fails int, keyBase int) {
	t.Helper()
	for n := 0; n < fails; n++ {
		if !pickUntil(t, b, victim, keyBase, balancer.Failure) {
			t.Fatalf("backend %s was not picked in 1000 picks (while taking it down; it had %d failures)", victim, n)
		}
	}
}

// pickUntil picks with keys from keyBase on until it gets victim, and
// reports o for it; it reports false if victim was not picked in 1000
// picks.
func pickUntil(t *testing.T, b balancer.Balancer, victim string, keyBase int, o balancer.Outcome) bool {
	t.Helper()
	for i := range 1000 {
		id, err := tryPick(b, key(keyBase+i))
		if err != nil {
			t.Fatalf("Pick failed with %v while waiting for backend %s", err, victim)
		}
		if id == victim {
			b.Report(id, o)
			return true
		}
		b.Report(id, balancer.Success)
	}
	return false
}

// holdUntil picks with keys from keyBase on until it gets victim, and
// does not report it: its request stays in flight. Other picks succeed.
func holdUntil(t *testing.T, b balancer.Balancer, victim string, keyBase int) bool {
	t.Helper()
	for i := range 1000 {
		id, err := tryPick(b, key(keyBase+i))
		if err != nil {
			t.Fatalf("Pick failed with %v while waiting for backend %s", err, victim)
		}
		if id == victim {
			return true
		}
		b.Report(id, balancer.Success)
	}
	return false
}

// never fails if victim is picked in 1000 picks.
func never(t *testing.T, b balancer.Balancer, victim, why string) {
	t.Helper()
	for i := range 1000 {
		if id := mustPick(t, b, key(i)); id == victim {
			t.Fatalf("backend %s was picked (for key %q) %s", victim, key(i), why)
		}
	}
}

func (s suite) downSkippedAndReadmitted(t *testing.T) {
	clock := NewClock(start)
	b := s.build(t, clock, ones(3)...)

	takeDown(t, b, "b", Health.MaxFails-1, 0)
	if !pickUntil(t, b, "b", 0, balancer.Success) {
		t.Fatalf("after %d failure(s), fewer than max_fails=%d, backend b was no longer picked", Health.MaxFails-1, Health.MaxFails)
	}
	takeDown(t, b, "b", 1, 0) // its max_fails-th failure within fail_timeout
	never(t, b, "b", fmt.Sprintf("although it failed max_fails=%d times and fail_timeout has not passed", Health.MaxFails))

	clock.Advance(Health.FailTimeout / 2)
	never(t, b, "b", "halfway through its fail_timeout")

	clock.Advance(Health.FailTimeout)
	if !pickUntil(t, b, "b", 0, balancer.Success) {
		t.Fatalf("backend b was not picked in 1000 picks once fail_timeout had passed since it went down")
	}
	// The probe succeeded: b is back for good, not just for one request.
	for n := range 3 {
		if !pickUntil(t, b, "b", 1000*(n+1), balancer.Success) {
			t.Fatalf("after a successful request once fail_timeout had passed, backend b was picked once and then no more")
		}
	}
}

func (s suite) failedProbeKeepsDown(t *testing.T) {
	clock := NewClock(start)
	b := s.build(t, clock, ones(3)...)
	takeDown(t, b, "c", Health.MaxFails, 0)
	clock.Advance(Health.FailTimeout + time.Second)
	if !pickUntil(t, b, "c", 0, balancer.Failure) {
		t.Fatalf("backend c was not picked in 1000 picks once fail_timeout had passed since it went down")
	}
	never(t, b, "c", "right after the request that probed it failed: nginx keeps it down for another fail_timeout")
}

// oneProbeAtATime: once fail_timeout has passed, a down backend gets one
// request, the probe, and no other until the probe's outcome is reported;
// a successful probe clears its failures, so that a new one, below
// max_fails, leaves it up. Both come from Pool.Picked: a Pick that does
// not call it for the backend it returns sends a recovering backend every
// request its algorithm gives it, and never clears its failures.
func (s suite) oneProbeAtATime(t *testing.T) {
	clock := NewClock(start)
	b := s.build(t, clock, ones(3)...)
	takeDown(t, b, "b", Health.MaxFails, 0)
	clock.Advance(Health.FailTimeout + time.Second)
	if !holdUntil(t, b, "b", 0) {
		t.Fatalf("backend b was not picked in 1000 picks once fail_timeout had passed since it went down")
	}
	never(t, b, "b", "while the request that probed it was still in flight: after fail_timeout a down backend gets one request, "+
		"and no other until that one is reported (does Pick call Pool.Picked for the backend it returns?)")
	b.Report("b", balancer.Success)
	takeDown(t, b, "b", Health.MaxFails-1, 0)
	if !pickUntil(t, b, "b", 0, balancer.Success) {
		t.Fatalf("after its probe succeeded, backend b was taken down by %d new failure(s), fewer than max_fails=%d: "+
			"a successful probe must clear its old failures (does Pick call Pool.Picked for the backend it returns?)", Health.MaxFails-1, Health.MaxFails)
	}
}

func (s suite) allDown(t *testing.T) {
	clock := NewClock(start)
	b := s.build(t, clock, 1, 1)
	for range Health.MaxFails {
		for _, victim := range []string{"a", "b"} {
			id, err := tryPick(b, "k-"+victim)
			if err != nil {
				t.Fatalf("Pick failed with %v before every backend was down", err)
			}
			b.Report(id, balancer.Failure)
		}
	}
	id, err := tryPick(b, "k")
	if p := (*panicError)(nil); errors.As(err, &p) {
		t.Fatalf("Pick panicked when every backend was down: %v; it must return an error that matches ErrNoBackend (errors.Is)", p.Value)
	}
	if !errors.Is(err, balancer.ErrNoBackend) {
		t.Fatalf("after both backends failed %d times each, Pick returned %q, %v; want ErrNoBackend", Health.MaxFails, id, err)
	}
	// Finding every backend down does not bring them back (nginx forgets
	// their failures then): they stay down until fail_timeout passes.
	clock.Advance(Health.FailTimeout / 2)
	for i := range 3 {
		if id, err := tryPick(b, "k"); !errors.Is(err, balancer.ErrNoBackend) {
			t.Fatalf("pick %d after every backend was found down, before fail_timeout had passed, returned %q, %v; want ErrNoBackend", i+2, id, err)
		}
	}
	clock.Advance(Health.FailTimeout/2 + time.Second)
	if _, err := tryPick(b, "k"); err != nil {
		t.Errorf("once fail_timeout had passed, Pick still failed with %v; the backends should be tried again", err)
	}
}

func (s suite) strayReports(t *testing.T) {
	b := s.build(t, NewClock(start), 1, 1)
	b.Report("ghost", balancer.Failure) // never added: ignored
	id, err := tryPick(b, "k")
	if err != nil {
		t.Fatalf("Pick: %v", err)
	}
	if err := b.Remove(id); err != nil {
		t.Fatalf("Remove(%q): %v", id, err)
	}
	b.Report(id, balancer.Failure) // removed while its request was in flight
	for i := range 20 {
		if got := mustPick(t, b, key(i)); got == id {
			t.Fatalf("Pick returned %q after it was removed", id)
		}
	}
}

// mapping returns the backend of each of n keys.
func mapping(t *testing.T, b balancer.Balancer, n int) []string {
	t.Helper()
	m := make([]string, n)
	for i := range m {
		m[i] = mustPick(t, b, key(i))
	}
	return m
}

func (s suite) sameKeySticks(t *testing.T) {
	b := s.build(t, NewClock(start), ones(4)...)
	first := mapping(t, b, 200)
	for round := range 3 {
		if diff := moved(first, mapping(t, b, 200)); len(diff) > 0 {
			t.Fatalf("round %d: keys went to a different backend than the first time with nothing changed: %v", round+2, diff[:min(len(diff), 5)])
		}
	}
}

// moved lists the keys whose backend differs between two mappings.
func moved(before, after []string) []string {
	var keys []string
	for i := range before {
		if before[i] != after[i] {
			keys = append(keys, fmt.Sprintf("%s: %s -> %s", key(i), before[i], after[i]))
		}
	}
	return keys
}

func (s suite) downMovesOnlyItsKeys(t *testing.T) {
	const keys = 2000
	clock := NewClock(start)
	b := s.build(t, clock, ones(5)...)
	before := mapping(t, b, keys)

	// Take c down through the keys that map to it.
	var cKeys []int
	for i, id := range before {
		if id == "c" {
			cKeys = append(cKeys, i)
		}
	}
	if len(cKeys) < Health.MaxFails {
		t.Fatalf("only %d of %d keys map to backend c of 5", len(cKeys), keys)
	}
	for _, i := range cKeys[:Health.MaxFails] {
		if id, _ := pick(b, key(i), balancer.Failure); id != "c" {
			t.Fatalf("key %q went to %s, not to its backend c, before c failed enough to be down", key(i), id)
		}
	}

	during := mapping(t, b, keys)
	for i := range before {
		switch {
		case before[i] == "c" && during[i] == "c":
			t.Fatalf("key %q still went to backend c while c was down", key(i))
		case before[i] != "c" && during[i] != before[i]:
			t.Fatalf("key %q moved from %s to %s when only backend c went down: only c's keys may move", key(i), before[i], during[i])
		}
	}
	// c's keys keep to the backend they moved to (on a ring, the next
	// live one clockwise), so its cache stays warm for them while c is
	// down; spreading them afresh at every request would not.
	if diff := moved(during, mapping(t, b, keys)); len(diff) > 0 {
		t.Fatalf("while backend c was down, %d of its keys went to a different backend the second time: a down backend's keys "+
			"must each move to one other backend and stay there: %v", len(diff), diff[:min(len(diff), 5)])
	}

	clock.Advance(Health.FailTimeout + time.Second)
	if id := mustPick(t, b, key(cKeys[0])); id != "c" { // the probe, which succeeds
		t.Fatalf("once c's fail_timeout had passed, its key %q went to %s, want c", key(cKeys[0]), id)
	}
	if diff := moved(before, mapping(t, b, keys)); len(diff) > 0 {
		t.Fatalf("after backend c recovered, %d keys did not return to their backend: %v", len(diff), diff[:min(len(diff), 5)])
	}
}

// checkMoved fails if more than MovedBound/n of the keys moved.
func checkMoved(t *testing.T, before, after []string, n int, what string) {
	t.Helper()
	got := float64(len(moved(before, after))) / float64(len(before))
	if bound := MovedBound / float64(n); got > bound {
		t.Errorf("%s moved %.1f%% of the keys; ideal is 1/%d = %.1f%%, the bound %.1f%%", what, got*100, n, 100/float64(n), bound*100)
	}
	if got == 0 {
		t.Errorf("%s moved no key at all", what)
	}
}

func (s suite) removeMovesAboutOneNth(t *testing.T) {
	const n, keys = 10, 10000
	b := s.build(t, NewClock(start), ones(n)...)
	before := mapping(t, b, keys)
	if err := b.Remove("d"); err != nil {
		t.Fatalf("Remove(d): %v", err)
	}
	checkMoved(t, before, mapping(t, b, keys), n, fmt.Sprintf("removing one backend out of %d", n))
}

func (s suite) addMovesAboutOneNth(t *testing.T) {
	const n, keys = 10, 10000
	b := s.build(t, NewClock(start), ones(n)...)
	before := mapping(t, b, keys)
	if err := b.Add("new", 1); err != nil {
		t.Fatalf("Add(new, 1): %v", err)
	}
	checkMoved(t, before, mapping(t, b, keys), n+1, fmt.Sprintf("adding an 11th backend to %d", n))
}
