package meta

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// The copies found intact are remembered for reportQuiet, at most
// maxIntact of them, the oldest forgotten first, so that a long stream of
// reports of distinct copies holds the memory of maxIntact: the map, the
// order (whose front is cut off, a slice that append copies into a new
// array once the old one is full), and the array under it. Found intact
// again, a copy counts from then; a stale place in the order forgets
// nothing.
func TestCopiesFoundIntactAreForgottenInTime(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := &Server{opt: Options{Now: func() time.Time { return now }}}
	s.reports.intact = map[badCopy]time.Time{}
	c := func(i int) badCopy { return badCopy{blob.Hash(fmt.Sprint(i)), "http://a"} }

	s.foundIntact(c(0))
	now = now.Add(reportQuiet - time.Second)
	s.foundIntact(c(1))
	require.True(t, s.recentlyIntact(c(0)))
	now = now.Add(time.Second)
	assert.False(t, s.recentlyIntact(c(0)), "still quiet after reportQuiet")
	s.foundIntact(c(0)) // found intact again: from now on
	s.foundIntact(c(2))
	assert.Len(t, s.reports.intact, 3, "the copy found intact reportQuiet ago is still remembered")
	now = now.Add(reportQuiet - time.Second)
	s.foundIntact(c(3))
	assert.NotContains(t, s.reports.intact, c(1), "kept past reportQuiet")
	assert.True(t, s.recentlyIntact(c(0)), "a stale place in the order forgot a copy found intact again")

	for i := range 10 * maxIntact {
		now = now.Add(time.Millisecond)
		s.foundIntact(c(4 + i))
		if len(s.reports.intact) > maxIntact || len(s.reports.intactOrder) > maxIntact || cap(s.reports.intactOrder) > 2*maxIntact {
			t.Fatalf("after %d copies: %d remembered, order %d long in an array of %d, want at most %d, %d, %d",
				i+1, len(s.reports.intact), len(s.reports.intactOrder), cap(s.reports.intactOrder), maxIntact, maxIntact, 2*maxIntact)
		}
	}
	assert.False(t, s.recentlyIntact(c(4+9*maxIntact-1)), "the oldest past maxIntact is remembered")
	assert.True(t, s.recentlyIntact(c(4+9*maxIntact)))
}
