package balancer

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHashBalancersSpreadRequestsWithoutAKey checks unkeyed: a request
// with no key does not hash the empty string (which sent every such
// request to one backend) but takes the next pick of nginx's smooth
// weighted round robin, skipping backends that are down; a request with
// a key still goes to its own backend every time.
func TestHashBalancersSpreadRequestsWithoutAKey(t *testing.T) {
	for _, name := range []string{"chash", "bounded", "maglev"} {
		t.Run(name, func(t *testing.T) {
			clk := &fakeClock{now: time.Unix(1000, 0)}
			b, err := New(name, Options{Now: clk.Now})
			require.NoError(t, err)
			require.NoError(t, b.Add("a", 5))
			require.NoError(t, b.Add("b", 1))
			require.NoError(t, b.Add("c", 1))

			pick := func(key string) string {
				t.Helper()
				id, err := b.Pick(key)
				require.NoError(t, err)
				b.Report(id, Success)
				return id
			}
			var got []string
			for range 14 {
				got = append(got, pick(""))
			}
			if diff := cmp.Diff(strings.Fields(strings.Repeat("a a b a c a a ", 2)), got); diff != "" {
				t.Errorf("picks without a key, weights {a:5, b:1, c:1} (-nginx's round robin +got):\n%s", diff)
			}

			own := pick("user-42")
			for range 20 {
				require.Equal(t, own, pick("user-42"), "a key keeps its backend")
			}

			// One failure takes a backend down (max_fails 1): keyless
			// requests go round the other two.
			id, err := b.Pick("")
			require.NoError(t, err)
			b.Report(id, Failure)
			for range 10 {
				require.NotEqual(t, id, pick(""), "a backend that is down gets no keyless request")
			}
		})
	}
}

// A pick without a key is counted like any other (Pool.Picked): in
// flight, so that bounded loads and PickExcept see its load, and as
// passive health's one probe of a backend whose fail_timeout has passed.
func TestAPickWithoutAKeyIsCounted(t *testing.T) {
	for _, name := range []string{"chash", "bounded", "maglev"} {
		b, err := New(name, Options{})
		require.NoError(t, err)
		require.NoError(t, b.Add("a", 1))
		require.NoError(t, b.Add("b", 1))
		busy, err := b.Pick("")
		require.NoError(t, err)
		idle, err := b.(interface {
			PickExcept(skip func(string) bool) (string, error)
		}).PickExcept(func(string) bool { return false })
		require.NoError(t, err)
		assert.NotEqual(t, busy, idle, "%s: %s holds the keyless request, so the least loaded is the other", name, busy)
	}
}
