// Package recent is a set that remembers each member for a while: a
// member is in the set for a fixed time after it was last added, and the
// set holds at most a fixed number of them, the oldest forgotten first.
// The metadata server keeps in one the copies a check found intact
// lately, with their size (meta's reportQuiet), the client the copies it
// found bad (client's doubts).
//
// A Set or Map is not safe for concurrent use: its owner holds its own
// lock.
package recent

import "time"

// Set remembers keys of type K for a lifetime each, at most max of them.
// It is a Map whose members carry nothing.
type Set[K comparable] struct{ m Map[K, struct{}] }

// New returns an empty set whose members last life each, at most max of
// them.
func New[K comparable](life time.Duration, max int) *Set[K] {
	return &Set[K]{*NewMap[K, struct{}](life, max)}
}

// Add puts k in the set from now on (again, if it was there), and
// forgets the members added longest ago that are past their life or
// beyond max.
func (s *Set[K]) Add(k K, now time.Time) { s.m.Put(k, struct{}{}, now) }

// Has reports whether k was added less than the set's life before now.
func (s *Set[K]) Has(k K, now time.Time) bool {
	_, ok := s.m.Get(k, now)
	return ok
}

// Delete forgets k.
func (s *Set[K]) Delete(k K) { s.m.Delete(k) }

// Len is how many keys the set holds, those past their life that no Add
// has forgotten yet included.
func (s *Set[K]) Len() int { return s.m.Len() }

// Map is a Set whose members each carry a value of type V, the one their
// last Put gave. Its memory is bounded by max: the map, the order of
// additions, and the array under the order (whose front is cut off;
// append copies it into a new array once the old one is full).
type Map[K comparable, V any] struct {
	life time.Duration
	max  int
	seq  uint64
	at   map[K]added[V]
	// order has the additions oldest first. An entry whose seq is not
	// its key's in at is stale: the key was added again since, or
	// deleted, and its expiry forgets nothing.
	order []entry[K]
}

type added[V any] struct {
	at  time.Time
	seq uint64
	v   V
}

type entry[K comparable] struct {
	k   K
	seq uint64
	at  time.Time
}

// NewMap returns an empty map whose members last life each, at most max
// of them.
func NewMap[K comparable, V any](life time.Duration, max int) *Map[K, V] {
	return &Map[K, V]{life: life, max: max, at: map[K]added[V]{}}
}

// Put puts k in the map with v from now on (again, if it was there: v
// replaces its value), and forgets the members added longest ago that
// are past their life or beyond max.
func (m *Map[K, V]) Put(k K, v V, now time.Time) {
	m.seq++
	m.at[k] = added[V]{now, m.seq, v}
	m.order = append(m.order, entry[K]{k, m.seq, now})
	for len(m.order) > 0 {
		e := m.order[0]
		live := m.at[e.k].seq == e.seq
		if live && now.Sub(e.at) < m.life && len(m.order) <= m.max {
			break
		}
		if live {
			delete(m.at, e.k)
		}
		m.order = m.order[1:]
	}
}

// Get returns k's value, if k was put less than the map's life before
// now.
func (m *Map[K, V]) Get(k K, now time.Time) (V, bool) {
	a, ok := m.at[k]
	if !ok || now.Sub(a.at) >= m.life {
		var zero V
		return zero, false
	}
	return a.v, true
}

// Delete forgets k.
func (m *Map[K, V]) Delete(k K) { delete(m.at, k) }

// Len is how many keys the map holds, those past their life that no Put
// has forgotten yet included.
func (m *Map[K, V]) Len() int { return len(m.at) }
