//go:build exercise

package exercise

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/03-director/rewrite"
	"github.com/gocourse/gateway/04-multi-target/pickertest"
)

func targets(t *testing.T, n int) []*url.URL {
	var out []*url.URL
	for i := range n {
		u, err := url.Parse("http://127.0.0.1:" + string(rune('1'+i)) + "000")
		require.NoError(t, err)
		out = append(out, u)
	}
	return out
}

// same returns a new *url.URL equal to u.
func same(t *testing.T, u *url.URL) *url.URL {
	c, err := url.Parse(u.String())
	require.NoError(t, err)
	return c
}

func TestWeightedRandom(t *testing.T) {
	ts := targets(t, 3)
	pick, err := WeightedRandom(ts, []int{5, 1, 1}, rand.New(rand.NewPCG(1, 2)))
	require.NoError(t, err)
	t.Run("shares follow the weights", func(t *testing.T) {
		pickertest.Shares(t, pick, ts, []float64{5, 1, 1}, 70_000)
	})
	t.Run("a zero weight is never picked", func(t *testing.T) {
		pick, err := WeightedRandom(ts, []int{1, 0, 1}, rand.New(rand.NewPCG(1, 2)))
		require.NoError(t, err)
		pickertest.Shares(t, pick, ts, []float64{1, 0, 1}, 10_000)
	})
	t.Run("safe for concurrent use", func(t *testing.T) {
		pickertest.Concurrent(t, pick) // the race detector, with -race, sees more
		pickertest.SameUnderConcurrency(t, func() rewrite.Picker {
			pick, err := WeightedRandom(ts, []int{5, 1, 1}, rand.New(rand.NewPCG(1, 2)))
			require.NoError(t, err)
			return pick
		})
	})
	t.Run("a nil source is the global generator", func(t *testing.T) {
		pick, err := WeightedRandom(ts, []int{5, 1, 1}, nil)
		require.NoError(t, err)
		pickertest.Shares(t, pick, ts, []float64{5, 1, 1}, 7_000)
	})
	t.Run("bad weights are rejected", func(t *testing.T) {
		for _, w := range [][]int{{1, 1}, {1, 1, 1, 1}, {1, -1, 1}, {0, 0, 0}} {
			_, err := WeightedRandom(ts, w, nil)
			assert.Error(t, err, "WeightedRandom with %d targets accepted weights %v: a weight for each target, none negative, not all zero", len(ts), w)
		}
	})
}

func TestPool(t *testing.T) {
	ts := targets(t, 2)
	p := NewPool(rand.New(rand.NewPCG(1, 2)))
	p.Add(ts[0])
	p.Add(ts[1])
	t.Run("picks evenly among what was added", func(t *testing.T) {
		pickertest.Shares(t, p.Pick, ts, []float64{1, 1}, 20_000)
	})
	t.Run("never picks a removed target", func(t *testing.T) {
		// The first one added, named by an equal URL rather than the same
		// pointer: Remove matches by URL string, not by pointer, and not
		// by position.
		p.Remove(same(t, ts[0]))
		pickertest.Shares(t, p.Pick, ts, []float64{0, 1}, 1_000)
	})
	t.Run("an empty pool is a 503", func(t *testing.T) {
		p.Remove(same(t, ts[1]))
		_, err := p.Pick(httptest.NewRequest(http.MethodGet, "/", nil))
		assert.True(t, errors.Is(err, rewrite.ErrNoTarget), "Pick on an empty pool: %v, want an error wrapping rewrite.ErrNoTarget", err)
		rec := httptest.NewRecorder()
		rewrite.NewPicking(p.Pick, rewrite.Options{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code,
			"rewrite.NewPicking(pool.Pick, ...) on an empty pool must answer 503 (Pick's error wraps rewrite.ErrNoTarget); it answered %q", rec.Body)
	})
	t.Run("a nil source is the global generator", func(t *testing.T) {
		p := NewPool(nil)
		p.Add(ts[0])
		p.Add(ts[1])
		pickertest.Shares(t, p.Pick, ts, []float64{1, 1}, 2_000)
	})
	t.Run("safe for concurrent use", func(t *testing.T) {
		// Picks racing with Add and Remove: without -race, only a race
		// that breaks a pick (a panic, a nil) shows.
		p.Add(ts[0])
		var wg sync.WaitGroup
		wg.Go(func() {
			for range 500 {
				p.Add(ts[1])
				p.Remove(ts[1])
			}
		})
		pickertest.Concurrent(t, p.Pick)
		wg.Wait()
		// Picks alone, on a fixed pool: an unlocked source shows without -race.
		pickertest.SameUnderConcurrency(t, func() rewrite.Picker {
			p := NewPool(rand.New(rand.NewPCG(1, 2)))
			p.Add(ts[0])
			p.Add(ts[1])
			return p.Pick
		})
	})
}
