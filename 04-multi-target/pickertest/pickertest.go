// Package pickertest checks a rewrite.Picker that spreads requests over
// targets by chance: that each target gets its share, and that the picker
// can be called for many requests at once (with the race detector, and
// without it). The course runs it on
// multitarget.Random; the chapter's exercises run it on yours.
package pickertest

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"sync"
	"testing"

	"github.com/gocourse/gateway/03-director/rewrite"
)

// Sigmas is how far a target's count may stray from what its share
// predicts, in standard deviations. Over n picks, a target with share p is
// picked Binomial(n, p) times: mean n·p, standard deviation
// sqrt(n·p·(1-p)). A correct picker strays more than 5 standard
// deviations with probability about 6e-7 per target (normal
// approximation), so a failure means the picker is biased, not unlucky;
// and with a seeded source the outcome is the same on every run anyway.
const Sigmas = 5

// Shares calls pick n times and checks that targets[i] is picked about
// shares[i]/sum(shares) of the time, within Sigmas standard deviations;
// that every target with a share is picked at least once; and that nothing
// else is returned.
func Shares(t *testing.T, pick rewrite.Picker, targets []*url.URL, shares []float64, n int) {
	t.Helper()
	if len(shares) != len(targets) {
		t.Fatalf("pickertest.Shares: %d targets but %d shares", len(targets), len(shares))
	}
	sum := 0.0
	for _, s := range shares {
		sum += s
	}
	count := make(map[string]int)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for range n {
		u, err := pick(r)
		if err != nil || u == nil {
			t.Fatalf("pick returned %v, %v; want one of the targets", u, err)
		}
		count[u.String()]++
	}
	for i, target := range targets {
		p := shares[i] / sum
		got := count[target.String()]
		delete(count, target.String())
		mean, sd := float64(n)*p, math.Sqrt(float64(n)*p*(1-p))
		if math.Abs(float64(got)-mean) > Sigmas*sd || (p > 0 && got == 0) {
			t.Errorf("%s was picked %d times in %d, want %.0f ± %.0f (share %.3f, %d standard deviations)",
				target, got, n, mean, Sigmas*sd, p, Sigmas)
		}
	}
	for u, c := range count {
		t.Errorf("the picker returned %s (%d times), which is not one of the targets", u, c)
	}
}

// Concurrent calls pick from several goroutines at once and checks that
// every call returns a target and no error. That catches a race only
// when it breaks an answer (a panic, a nil); run it with -race, which
// reports any unsynchronised access to shared state. For a picker whose
// state is a random source, SameUnderConcurrency catches a missing lock
// without -race.
func Concurrent(t *testing.T, pick rewrite.Picker) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for range 1000 {
				if u, err := pick(r); err != nil || u == nil {
					errs <- fmt.Errorf("pick returned %v, %v", u, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// SameUnderConcurrency checks, without needing the race detector, that a
// picker keeps its state (a seeded *rand.Rand, say) consistent when many
// goroutines pick at once. newPick must return a fresh picker whose
// source is seeded the same way every time, and whose choice depends only
// on what it draws, not on the request.
//
// It makes n picks one after another with one fresh picker, then the
// same n picks from Goroutines goroutines at once with another. A picker
// that serialises its draws (a mutex around the source) goes through the
// same sequence of draws either way, only handing them to different
// goroutines, so each target is picked exactly as often. A picker without
// the lock loses updates of the source's state when two goroutines draw
// at the same moment: draws repeat or are skipped, and the counts differ.
// Whether two draws collide depends on the goroutines really running at
// the same moment, so the concurrent round is repeated, up to Rounds
// times, until one differs. With the mutex removed from
// multitarget.Random, on a 2-core machine shared with other work, between
// four rounds in five and every round differed, depending on the load,
// and none of 60 runs got through all Rounds.
//
// What it cannot see: a race that never changes a count (a slice read
// while another goroutine appends, say: run -race for those), and any race
// at all when goroutines cannot run in parallel, which is why it skips
// itself when GOMAXPROCS is 1. It does not replace -race; it is the check
// that works where -race is not available (the race detector needs cgo).
func SameUnderConcurrency(t *testing.T, newPick func() rewrite.Picker) {
	t.Helper()
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("goroutines do not run in parallel with GOMAXPROCS=1, so concurrent picks cannot collide; run with -race instead")
	}
	const n = Goroutines * PicksEach
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	pick := newPick()
	oneByOne := make(map[string]int)
	for range n {
		u, err := pick(r)
		if err != nil || u == nil {
			t.Fatalf("pick returned %v, %v", u, err)
		}
		oneByOne[u.String()]++
	}

	rounds := Rounds
	if raceEnabled {
		rounds = 1 // the race detector reports an unlocked source on its own, and it is slow
	}
	for round := 1; round <= rounds; round++ {
		atOnce := pickAtOnce(newPick())
		for u := range mergeKeys(oneByOne, atOnce) {
			if oneByOne[u] != atOnce[u] {
				t.Errorf("%d picks one after another chose %s %d times; the same %d picks from %d goroutines at once (same seed, round %d) chose it %d times: "+
					"concurrent picks overwrote each other's updates of the picker's state (a random source shared without a lock?)",
					n, u, oneByOne[u], n, Goroutines, round, atOnce[u])
			}
		}
		if t.Failed() {
			return
		}
	}
}

// Goroutines, PicksEach and Rounds size SameUnderConcurrency: enough
// overlapping picks that an unlocked source collides, in about a second
// for a correct picker (which goes through every round).
const (
	Goroutines = 8
	PicksEach  = 20_000
	Rounds     = 20
)

// pickAtOnce makes Goroutines × PicksEach picks from Goroutines goroutines
// that start together, and counts the targets picked.
func pickAtOnce(pick rewrite.Picker) map[string]int {
	counts := make([]map[string]int, Goroutines)
	start := make(chan struct{}) // so that the goroutines overlap from the first pick
	var wg sync.WaitGroup
	for g := range Goroutines {
		counts[g] = make(map[string]int)
		wg.Go(func() {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			<-start
			for range PicksEach {
				if u, err := pick(r); err == nil && u != nil {
					counts[g][u.String()]++
				}
			}
		})
	}
	close(start)
	wg.Wait()
	total := make(map[string]int)
	for _, c := range counts {
		for u, k := range c {
			total[u] += k
		}
	}
	return total
}

func mergeKeys(a, b map[string]int) map[string]bool {
	keys := make(map[string]bool, len(a)+len(b))
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}
