// Package exercise is where you write your own balancers for chapter 05.
// Each one starts with the bookkeeping done for you (a balancer.Pool
// behind a mutex: Add, Remove and Report); you write Pick. Check your
// work with the conformance suite, under the race detector:
//
//	go test -race -tags exercise -run WeightedRandom ./05-balancers/exercise
//	go test -race -tags exercise -run Rendezvous ./05-balancers/exercise
//
// The tests fail until you are done. Without -race they also pass a Pick
// that forgets the lock (ConcurrentPicks finds the data race only with
// it); on Linux and Windows -race needs a C compiler, see the chapter's
// third exercise. Model answers are in package answer: try first.
package exercise

import (
	"errors"
	"math/rand/v2"
	"sync"

	"github.com/gocourse/gateway/05-balancers/balancer"
	"github.com/gocourse/gateway/05-balancers/ring"
)

// errTODO is what Pick returns until you write it.
var errTODO = errors.New("exercise: Pick is not written yet")

// WeightedRandom picks a backend at random, each with probability
// proportional to its weight: with weights {a:5, b:1, c:1}, a gets 5/7 of
// the requests. Backends that are down (see Pool.Up) are never picked.
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

// Pick returns a backend, each with probability weight/total.
//
// EXERCISE: write it.
//   - Lock b.mu for the whole Pick.
//   - With no peers, return an error that matches balancer.ErrNoBackend.
//   - Sum the weights of the peers that are up at now := b.pool.Now().
//   - If the sum is 0, every peer is down: return an error that matches
//     balancer.ErrNoBackend (b.rand.IntN(0) would panic).
//   - Draw r := b.rand.IntN(total) and walk the peers, subtracting each
//     live peer's weight from r, until r goes below 0.
//   - Call b.pool.Picked(i, now) for the peer you return.
func (b *WeightedRandom) Pick(key string) (string, error) {
	return "", errTODO
}

// Add adds a backend to the pool (done for you, as are Remove and Report).
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

// Report records how a request to id went: the pool counts failures
// and marks a backend down (see balancer.Health).
func (b *WeightedRandom) Report(id string, o balancer.Outcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pool.Report(id, o)
}

// Rendezvous is rendezvous hashing, also called highest random weight
// (Thaler and Ravishankar: a University of Michigan technical report,
// 1996, published in IEEE/ACM Transactions on Networking in 1998): every
// backend gets a score for the key, hash(key, backend), and the key goes
// to the live backend with the highest score. No ring at all; removing a
// backend moves exactly its own keys, each to the backend with the next
// highest score.
type Rendezvous struct {
	mu   sync.Mutex
	pool *balancer.Pool
	hash ring.Hash
}

// NewRendezvous returns an empty Rendezvous balancer.
func NewRendezvous(opts balancer.Options) *Rendezvous {
	h := opts.Hash
	if h == nil {
		h = ring.FNV
	}
	return &Rendezvous{pool: balancer.NewPool(opts), hash: h}
}

// Pick returns the live backend with the highest score for key.
//
// EXERCISE: write it.
//   - Lock b.mu; with no peers, return an error matching ErrNoBackend.
//   - For each peer that is up, score it: b.hash(key + "/" + peer.ID) is
//     simplest (for no allocations, combine b.hash(key) with a hash of
//     the ID computed once, through a mixing step).
//   - If no peer is up, return an error that matches balancer.ErrNoBackend.
//   - Return the best, after b.pool.Picked(i, now).
func (b *Rendezvous) Pick(key string) (string, error) {
	return "", errTODO
}

// Add adds a backend to the pool (done for you, as are Remove and Report).
func (b *Rendezvous) Add(id string, weight int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pool.Add(id, weight)
}

// Remove removes a backend from the pool.
func (b *Rendezvous) Remove(id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pool.Remove(id)
}

// Report records how a request to id went: the pool counts failures
// and marks a backend down (see balancer.Health).
func (b *Rendezvous) Report(id string, o balancer.Outcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pool.Report(id, o)
}
