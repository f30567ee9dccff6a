package balancer

import (
	"math/rand/v2"
	"time"
)

// Random picks a backend uniformly at random, ignoring weights. Over many
// requests the load evens out; over a few it is lumpy.
type Random struct {
	locked
	rand *rand.Rand
}

// NewRandom returns an empty Random balancer.
func NewRandom(opts Options) *Random {
	opts = opts.withDefaults()
	return &Random{locked: newLocked(opts), rand: rand.New(opts.Rand)}
}

// Pick returns a random backend that is up, in O(1) while few are down.
func (b *Random) Pick(string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(b.pool.Peers)
	if n == 0 {
		return "", errEmpty
	}
	now := b.pool.Now()
	i := b.rand.IntN(n)
	if !b.pool.Up(i, now) {
		// Redrawing until we hit a live backend could take long when most
		// are down; choose uniformly among the live ones instead.
		var ok bool
		if i, ok = randomUp(b.pool, b.rand, now); !ok {
			return "", errAllDown
		}
	}
	b.pool.Picked(i, now)
	return b.pool.Peers[i].ID, nil
}

// randomUp returns a uniformly random peer among those up, in O(n).
func randomUp(p *Pool, r *rand.Rand, now time.Time) (int, bool) {
	up := 0
	for i := range p.Peers {
		if p.Up(i, now) {
			up++
		}
	}
	if up == 0 {
		return 0, false
	}
	k := r.IntN(up)
	for i := range p.Peers {
		if p.Up(i, now) {
			if k == 0 {
				return i, true
			}
			k--
		}
	}
	panic("unreachable")
}
