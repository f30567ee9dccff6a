package meta_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// The placements GC spares are forgotten by the first placement a grace
// period after them, not only by a GC that gets past its marking step:
// while every GC failed early (here none runs at all), each write would
// otherwise grow the list. A blob placed again keeps its later placement,
// and so its protection, for a whole grace period.
func TestPlacementsAreForgottenAfterTheGracePeriod(t *testing.T) {
	cl, _ := store(t, 2, meta.Options{GCGrace: time.Hour})
	place := func(content string) {
		t.Helper()
		_, err := postJSON[meta.Placement](cl.MetaURL+"/writes", meta.WriteRequest{Key: content, Hash: blob.Sum([]byte(content)), Size: int64(len(content))})
		require.NoError(t, err)
	}
	later := func(d time.Duration) {
		cl.Clock.Add(d)
		cl.Beat()
	}
	placed := func(want ...string) {
		t.Helper()
		var hashes []blob.Hash
		for _, c := range want {
			hashes = append(hashes, blob.Sum([]byte(c)))
		}
		slices.Sort(hashes)
		if diff := cmp.Diff(hashes, meta.Placed(cl.Meta())); diff != "" {
			t.Errorf("placements remembered, want %q (-want +got):\n%s", want, diff)
		}
	}
	place("a")
	later(30 * time.Minute)
	place("b")
	place("a") // again: protected for an hour from now
	later(30 * time.Minute)
	place("c")
	placed("a", "b", "c") // a's first placement is an hour old, its second is not
	later(30 * time.Minute)
	place("d")
	placed("c", "d")
}
