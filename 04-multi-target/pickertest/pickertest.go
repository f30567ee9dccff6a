// Package pickertest checks a rewrite.Picker that spreads requests over
// targets by chance: that each target gets its share, and that the picker
// can be called for many requests at once. The course runs it on
// multitarget.Random; the chapter's exercises run it on yours.
package pickertest

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
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
		if err != nil {
			t.Fatalf("pick: %v", err)
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

// Concurrent calls pick from several goroutines at once. Run it with
// -race: a picker whose state (a *rand.Rand, a counter) is shared without
// a lock is reported as a data race.
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
