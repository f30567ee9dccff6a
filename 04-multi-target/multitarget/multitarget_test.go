package multitarget

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/03-director/rewrite"
	"github.com/gocourse/gateway/04-multi-target/pickertest"
)

func urls(t testing.TB, ss ...string) []*url.URL {
	t.Helper()
	var out []*url.URL
	for _, s := range ss {
		u, err := url.Parse(s)
		require.NoError(t, err)
		out = append(out, u)
	}
	return out
}

func TestRandomUsesTheInjectedSource(t *testing.T) {
	targets := urls(t, "http://a", "http://b", "http://c")
	pick, err := Random(targets, rand.New(rand.NewPCG(7, 7)))
	require.NoError(t, err)

	want := rand.New(rand.NewPCG(7, 7)) // the same seed: the same draws
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for i := range 100 {
		got, err := pick(r)
		require.NoError(t, err)
		if diff := cmp.Diff(targets[want.IntN(3)].String(), got.String()); diff != "" {
			t.Fatalf("pick %d (-want +got):\n%s", i, diff)
		}
	}
}

// TestRandomSplitIsNearEven picks 300,000 times among 3 targets: each
// must get 100,000 ± 5 standard deviations (± 1,291). See pickertest.Sigmas.
func TestRandomSplitIsNearEven(t *testing.T) {
	targets := urls(t, "http://a", "http://b", "http://c")
	pick, err := Random(targets, rand.New(rand.NewPCG(1, 2)))
	require.NoError(t, err)
	pickertest.Shares(t, pick, targets, []float64{1, 1, 1}, 300_000)
}

func TestRandomWithTheGlobalSource(t *testing.T) {
	targets := urls(t, "http://a", "http://b")
	pick, err := Random(targets, nil)
	require.NoError(t, err)
	pickertest.Shares(t, pick, targets, []float64{1, 1}, 100_000)
}

// TestRandomIsSafeForConcurrentUse picks from many goroutines at once.
// Under -race the first subtest would report an unlocked *rand.Rand; the
// second sees one without -race, as different counts (on 2 or more CPUs).
func TestRandomIsSafeForConcurrentUse(t *testing.T) {
	targets := urls(t, "http://a", "http://b", "http://c")
	newPick := func() rewrite.Picker {
		pick, err := Random(targets, rand.New(rand.NewPCG(1, 2)))
		require.NoError(t, err)
		return pick
	}
	t.Run("every pick answers (run with -race)", func(t *testing.T) {
		pickertest.Concurrent(t, newPick())
	})
	t.Run("the same picks as one after another", func(t *testing.T) {
		pickertest.SameUnderConcurrency(t, newPick)
	})
}

func TestRandomKeepsItsOwnCopyOfTargets(t *testing.T) {
	targets := urls(t, "http://a")
	pick, err := Random(targets, nil)
	require.NoError(t, err)
	targets[0] = urls(t, "http://changed")[0]
	got, err := pick(httptest.NewRequest(http.MethodGet, "/", nil))
	require.NoError(t, err)
	assert.Equal(t, "http://a", got.String())
}

func TestNoTargets(t *testing.T) {
	_, err := New(nil, Options{})
	assert.True(t, errors.Is(err, ErrNoTargets), "New(nil): %v, want ErrNoTargets", err)
}
