package recent

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// A member is in the set for its life after its last Add; an Add after
// that counts anew; a Delete forgets it, and its old place in the order
// forgets nothing later.
func TestMembersLastTheirLife(t *testing.T) {
	s := New[string](time.Minute, 10)
	s.Add("a", t0)
	assert.True(t, s.Has("a", t0.Add(time.Minute-time.Nanosecond)))
	assert.False(t, s.Has("a", t0.Add(time.Minute)), "past its life")
	assert.False(t, s.Has("b", t0))

	s.Add("a", t0.Add(time.Minute)) // again: from then on
	s.Add("b", t0.Add(time.Minute+time.Second))
	assert.True(t, s.Has("a", t0.Add(time.Minute+time.Second)), "a stale place in the order forgot a member added again")
	assert.Equal(t, 2, s.Len())

	s.Delete("b")
	assert.False(t, s.Has("b", t0.Add(time.Minute+time.Second)))
	s.Add("b", t0.Add(time.Minute+2*time.Second))
	s.Add("c", t0.Add(2*time.Minute+time.Second+time.Nanosecond)) // b's first place expires here
	assert.True(t, s.Has("b", t0.Add(2*time.Minute)), "a deleted member's old place forgot it added again")
}

// Added again at the same instant (a stopped clock), a member's older
// place does not forget it: places are told apart by the order of
// additions, not by time.
func TestAStoppedClockForgetsNothingEarly(t *testing.T) {
	s := New[string](time.Minute, 2)
	s.Add("a", t0)
	s.Add("a", t0)
	s.Add("b", t0) // the order is past max: a's first place goes
	assert.True(t, s.Has("a", t0))
	assert.True(t, s.Has("b", t0))
}

// At most max members are kept, the oldest forgotten first, and the
// memory stays bounded by max however many are added: the map, the order
// and the array under it (at most 3 times max: append doubles a small
// array, rounded up to the allocator's size classes).
func TestTheSetHoldsAtMostMax(t *testing.T) {
	const max = 64
	s := New[int](time.Hour, max)
	now := t0
	for i := range 100 * max {
		now = now.Add(time.Millisecond)
		s.Add(i, now)
		if s.Len() > max || len(s.m.order) > max || cap(s.m.order) > 3*max {
			t.Fatalf("after %d adds: %d members, order %d long in an array of %d, want at most %d, %d, %d",
				i+1, s.Len(), len(s.m.order), cap(s.m.order), max, max, 3*max)
		}
	}
	require.Equal(t, max, s.Len())
	assert.False(t, s.Has(100*max-max-1, now), "the oldest past max is kept")
	assert.True(t, s.Has(100*max-max, now))
}

// Members past their life are forgotten by the next Add, whatever the
// bound.
func TestExpiredMembersAreForgottenByTheNextAdd(t *testing.T) {
	s := New[int](time.Minute, 100)
	for i := range 10 {
		s.Add(i, t0)
	}
	s.Add(10, t0.Add(time.Minute))
	assert.Equal(t, 1, s.Len())
}

// A Map's member carries the value of its last Put, for its life; a
// Delete forgets both.
func TestAMapMemberCarriesItsLastValue(t *testing.T) {
	m := NewMap[string, int64](time.Minute, 10)
	m.Put("a", 1, t0)
	m.Put("a", 2, t0.Add(time.Second))
	v, ok := m.Get("a", t0.Add(time.Minute))
	assert.True(t, ok, "put again at 1s: still there at 60s")
	assert.Equal(t, int64(2), v, "the value of the last Put")
	_, ok = m.Get("a", t0.Add(time.Minute+time.Second))
	assert.False(t, ok, "past its life")
	_, ok = m.Get("b", t0)
	assert.False(t, ok)
	m.Delete("a")
	_, ok = m.Get("a", t0)
	assert.False(t, ok, "deleted")
}
