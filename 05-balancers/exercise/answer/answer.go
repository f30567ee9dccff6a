// Package answer holds model answers to chapter 05's exercises. They pass
// the same conformance suite as the course's balancers (answer_test.go).
package answer

import (
	"math/rand/v2"
	"sync"

	"github.com/gocourse/gateway/05-balancers/balancer"
	"github.com/gocourse/gateway/05-balancers/ring"
)

// WeightedRandom picks a live backend with probability weight/total: O(n).
type WeightedRandom struct {
	mu   sync.Mutex
	pool *balancer.Pool
	rand *rand.Rand
}

// NewWeightedRandom returns an empty WeightedRandom balancer.
func NewWeightedRandom(opts balancer.Options) *WeightedRandom {
	src := opts.Rand
	if src == nil {
		src = rand.NewPCG(rand.Uint64(), rand.Uint64())
	}
	return &WeightedRandom{pool: balancer.NewPool(opts), rand: rand.New(src)}
}

// Pick returns a live backend, each with probability weight/total.
func (b *WeightedRandom) Pick(string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pool.Peers) == 0 {
		return "", balancer.ErrNoBackend
	}
	now := b.pool.Now()
	total := 0
	for i, p := range b.pool.Peers {
		if b.pool.Up(i, now) {
			total += p.Weight
		}
	}
	if total == 0 {
		return "", balancer.ErrNoBackend
	}
	r := b.rand.IntN(total)
	for i, p := range b.pool.Peers {
		if !b.pool.Up(i, now) {
			continue
		}
		if r -= p.Weight; r < 0 {
			b.pool.Picked(i, now)
			return p.ID, nil
		}
	}
	panic("unreachable: r < total")
}

// Add adds a backend to the pool.
func (b *WeightedRandom) Add(id string, weight int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pool.Add(id, weight)
}

// Remove removes a backend from the pool.
func (b *WeightedRandom) Remove(id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pool.Remove(id)
}

// Report records how a request to id went.
func (b *WeightedRandom) Report(id string, o balancer.Outcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pool.Report(id, o)
}

// Rendezvous is highest-random-weight hashing: O(n) per pick.
type Rendezvous struct {
	mu   sync.Mutex
	pool *balancer.Pool
	hash ring.Hash
	ids  map[string]uint64 // hash of each backend's id, computed once
}

// NewRendezvous returns an empty Rendezvous balancer.
func NewRendezvous(opts balancer.Options) *Rendezvous {
	h := opts.Hash
	if h == nil {
		h = ring.FNV
	}
	return &Rendezvous{pool: balancer.NewPool(opts), hash: h, ids: map[string]uint64{}}
}

// Pick returns the live backend with the highest score for key.
func (b *Rendezvous) Pick(key string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pool.Peers) == 0 {
		return "", balancer.ErrNoBackend
	}
	now := b.pool.Now()
	k := b.hash(key)
	best, bestScore := -1, uint64(0)
	for i, p := range b.pool.Peers {
		if !b.pool.Up(i, now) {
			continue
		}
		if s := score(k, b.ids[p.ID]); best < 0 || s > bestScore {
			best, bestScore = i, s
		}
	}
	if best < 0 {
		return "", balancer.ErrNoBackend
	}
	b.pool.Picked(best, now)
	return b.pool.Peers[best].ID, nil
}

// score combines the two hashes through splitmix64's finalizer, so that
// each backend's scores look independent of the others'.
func score(key, id uint64) uint64 {
	z := key ^ id
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Add adds a backend, and hashes its id once for every Pick to reuse.
func (b *Rendezvous) Add(id string, weight int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.pool.Add(id, weight); err != nil {
		return err
	}
	b.ids[id] = b.hash(id)
	return nil
}

// Remove removes a backend and its id's hash.
func (b *Rendezvous) Remove(id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.ids, id)
	return b.pool.Remove(id)
}

// Report records how a request to id went.
func (b *Rendezvous) Report(id string, o balancer.Outcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pool.Report(id, o)
}
