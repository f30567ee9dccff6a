package pickertest

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/03-director/rewrite"
)

// TestSharesReportsANilTarget runs Shares on a picker that returns
// neither a target nor an error (an off-by-one in a weighted pick does
// that), in a child test process, since the check must fail: it must say
// so in words, as Concurrent and SameUnderConcurrency do, not panic on the
// nil URL.
func TestSharesReportsANilTarget(t *testing.T) {
	if os.Getenv("PICKERTEST_NIL_CHILD") == "1" {
		targets := []*url.URL{{Scheme: "http", Host: "a"}}
		Shares(t, func(*http.Request) (*url.URL, error) { return nil, nil }, targets, []float64{1}, 10)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSharesReportsANilTarget$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PICKERTEST_NIL_CHILD=1")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "Shares passed a picker that returns no target:\n%s", out)
	assert.Contains(t, string(out), "pick returned <nil>, <nil>; want one of the targets")
	assert.NotContains(t, string(out), "panic")
}

// sequence returns a picker that returns targets[0] counts[0] times, then
// targets[1] counts[1] times, and so on: counts chosen by hand.
func sequence(targets []*url.URL, counts ...int) rewrite.Picker {
	var seq []*url.URL
	for i, c := range counts {
		for range c {
			seq = append(seq, targets[i])
		}
	}
	next := 0
	return func(*http.Request) (*url.URL, error) {
		u := seq[next%len(seq)]
		next++
		return u, nil
	}
}

// TestSharesHoldsPickersToFiveSigmas: over 300,000 picks among 3 targets
// the chapter's bound is 100,000 ± 5σ (± 1,291). A picker 1,290 over is
// passed; one 1,292 over fails, as do the chapter's two plain biases, a
// picker that always chooses a and one that never chooses c (each in a
// child test process, since Shares must fail).
func TestSharesHoldsPickersToFiveSigmas(t *testing.T) {
	targets := []*url.URL{{Scheme: "http", Host: "a"}, {Scheme: "http", Host: "b"}, {Scheme: "http", Host: "c"}}
	biased := map[string]struct {
		counts []int
		says   string
	}{
		"always a":      {[]int{300_000, 0, 0}, "http://a was picked 300000 times in 300000"},
		"never c":       {[]int{150_000, 150_000, 0}, "http://c was picked 0 times in 300000"},
		"1,292 over 5σ": {[]int{101_292, 99_354, 99_354}, "http://a was picked 101292 times in 300000, want 100000 ± 1291"},
	}
	if name := os.Getenv("PICKERTEST_BIASED_CHILD"); name != "" {
		Shares(t, sequence(targets, biased[name].counts...), targets, []float64{1, 1, 1}, 300_000)
		return
	}
	Shares(t, sequence(targets, 101_290, 99_355, 99_355), targets, []float64{1, 1, 1}, 300_000)
	for name, bias := range biased {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSharesHoldsPickersToFiveSigmas$", "-test.count=1")
		cmd.Env = append(os.Environ(), "PICKERTEST_BIASED_CHILD="+name)
		out, err := cmd.CombinedOutput()
		assert.Error(t, err, "Shares passed a picker that is %s:\n%s", name, out)
		assert.Contains(t, string(out), bias.says, name)
	}
}

// TestConcurrentReportsAFailedPick runs Concurrent on a picker that fails
// one pick in 1,000 (as a pick that races with a change of the targets
// may), in a child test process, since the check must fail.
func TestConcurrentReportsAFailedPick(t *testing.T) {
	if os.Getenv("PICKERTEST_CONCURRENT_CHILD") == "1" {
		var mu sync.Mutex
		n := 0
		Concurrent(t, func(*http.Request) (*url.URL, error) {
			mu.Lock()
			defer mu.Unlock()
			if n++; n%1000 == 0 {
				return nil, errors.New("no target this time")
			}
			return &url.URL{Scheme: "http", Host: "a"}, nil
		})
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestConcurrentReportsAFailedPick$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PICKERTEST_CONCURRENT_CHILD=1")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "Concurrent passed a picker that fails one pick in 1,000:\n%s", out)
	assert.Contains(t, string(out), "pick returned <nil>, no target this time")
}
