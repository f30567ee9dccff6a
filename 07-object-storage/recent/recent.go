// Package recent is a set that remembers each member for a while: a
// member is in the set for a fixed time after it was last added, and the
// set holds at most a fixed number of them, the oldest forgotten first.
// The metadata server keeps in one the copies a check found intact
// lately (meta's reportQuiet), the client the copies it found bad
// (client's doubts).
//
// A Set is not safe for concurrent use: its owner holds its own lock.
package recent

import "time"

// Set remembers keys of type K for a lifetime each, at most max of them.
// Its memory is bounded by max: the map, the order of additions, and the
// array under the order (whose front is cut off; append copies it into a
// new array once the old one is full).
type Set[K comparable] struct {
	life time.Duration
	max  int
	seq  uint64
	at   map[K]added
	// order has the additions oldest first. An entry whose seq is not
	// its key's in at is stale: the key was added again since, or
	// deleted, and its expiry forgets nothing.
	order []entry[K]
}

type added struct {
	at  time.Time
	seq uint64
}

type entry[K comparable] struct {
	k   K
	seq uint64
	at  time.Time
}

// New returns an empty set whose members last life each, at most max of
// them.
func New[K comparable](life time.Duration, max int) *Set[K] {
	return &Set[K]{life: life, max: max, at: map[K]added{}}
}

// Add puts k in the set from now on (again, if it was there), and
// forgets the members added longest ago that are past their life or
// beyond max.
func (s *Set[K]) Add(k K, now time.Time) {
	s.seq++
	s.at[k] = added{now, s.seq}
	s.order = append(s.order, entry[K]{k, s.seq, now})
	for len(s.order) > 0 {
		e := s.order[0]
		live := s.at[e.k].seq == e.seq
		if live && now.Sub(e.at) < s.life && len(s.order) <= s.max {
			break
		}
		if live {
			delete(s.at, e.k)
		}
		s.order = s.order[1:]
	}
}

// Has reports whether k was added less than the set's life before now.
func (s *Set[K]) Has(k K, now time.Time) bool {
	a, ok := s.at[k]
	return ok && now.Sub(a.at) < s.life
}

// Delete forgets k.
func (s *Set[K]) Delete(k K) { delete(s.at, k) }

// Len is how many keys the set holds, those past their life that no Add
// has forgotten yet included.
func (s *Set[K]) Len() int { return len(s.at) }
