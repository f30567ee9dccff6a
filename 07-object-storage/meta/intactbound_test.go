package meta

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/recent"
)

// The copies found intact are remembered for reportQuiet, at most
// maxIntact of them, the oldest forgotten first (the set's own bounds,
// memory included, are package recent's tests). Found intact again, a
// copy counts from then.
func TestCopiesFoundIntactAreForgottenInTime(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := &Server{opt: Options{Now: func() time.Time { return now }}}
	s.reports.intact = recent.NewMap[badCopy, int64](reportQuiet, maxIntact)
	c := func(i int) badCopy { return badCopy{blob.Hash(fmt.Sprint(i)), "http://a"} }
	quiet := func(c badCopy) bool {
		_, ok := s.recentlyIntact(c)
		return ok
	}

	s.foundIntact(c(0), 10)
	now = now.Add(reportQuiet - time.Second)
	s.foundIntact(c(1), 10)
	require.True(t, quiet(c(0)))
	now = now.Add(time.Second)
	assert.False(t, quiet(c(0)), "still quiet after reportQuiet")
	s.foundIntact(c(0), 10) // found intact again: from now on
	s.foundIntact(c(2), 10)
	assert.Equal(t, 3, s.reports.intact.Len(), "the copy found intact reportQuiet ago is still remembered")
	now = now.Add(reportQuiet - time.Second)
	s.foundIntact(c(3), 10)
	assert.Equal(t, 3, s.reports.intact.Len(), "kept past reportQuiet")
	assert.True(t, quiet(c(0)), "a stale place in the order forgot a copy found intact again")

	for i := range 2 * maxIntact {
		now = now.Add(time.Millisecond)
		s.foundIntact(c(4+i), 10)
	}
	assert.Equal(t, maxIntact, s.reports.intact.Len())
	assert.False(t, quiet(c(4+maxIntact-1)), "the oldest past maxIntact is remembered")
	assert.True(t, quiet(c(4+maxIntact)))
}
