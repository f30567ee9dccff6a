package balancer

import (
	"math"
	"math/bits"

	"github.com/gocourse/gateway/05-balancers/ring"
)

// BoundedLoad is consistent hashing with bounded loads (Mirrokni, Thorup
// and Zadimoghaddam, SODA 2018). Plain consistent hashing sends a hot key,
// or an unlucky arc of the ring, to one backend however busy it is. Here
// every live backend has a capacity of ceil(c * average load), scaled by
// its weight, where the load is the requests in flight on the live
// backends, counting the new one, and the average is over the live
// backends (the paper's bins are the servers that can take a ball, and
// its m the balls in them); a key goes to the first backend
// clockwise from its place that is live and below capacity. So no
// backend ever takes a request that would put it above ceil(c * its
// share), however many are down, and a key still reaches the same backend
// as long as that backend is not overloaded.
//
// c (Options.LoadFactor, from 1 to MaxLoadFactor) trades balance for
// stickiness: close to 1, loads are even and keys move often; large, it
// is plain consistent hashing. It is taken to six decimal places, and the
// capacity is computed in integers: in floating point, 1.1 * 50 / 11 is
// 5.000000000000001, whose ceiling lets a sixth request in where the
// bound is five.
type BoundedLoad struct {
	ConsistentHash
	cMicro uint64 // c in millionths
}

// MaxLoadFactor is the largest c NewBoundedLoad takes: far beyond it,
// bounded loads is plain consistent hashing (use chash).
const MaxLoadFactor = 1e6

// NewBoundedLoad returns an empty BoundedLoad balancer. It fails if
// opts.LoadFactor is below 1 or above MaxLoadFactor, or opts.Replicas is
// negative or above MaxReplicas, or opts.Health.FailTimeout is negative.
func NewBoundedLoad(opts Options) (*BoundedLoad, error) {
	if err := opts.checkReplicas("bounded load"); err != nil {
		return nil, err
	}
	if err := opts.checkHealth("bounded load"); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if !(opts.LoadFactor >= 1 && opts.LoadFactor <= MaxLoadFactor) {
		return nil, badOption("bounded load: the load factor c must be from 1 to %d, got %v", int(MaxLoadFactor), opts.LoadFactor)
	}
	return &BoundedLoad{
		ConsistentHash: ConsistentHash{locked: newLocked(opts), ring: ring.New(opts.Replicas, opts.Hash)},
		cMicro:         uint64(math.Round(opts.LoadFactor * 1e6)),
	}, nil
}

// Pick returns the first live backend clockwise from key that is below
// its capacity (for an empty key, see unkeyed).
func (b *BoundedLoad) Pick(key string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ring.Len() == 0 {
		return "", errEmpty
	}
	now := b.pool.Now()
	liveWeight := b.pool.UpWeight(now)
	if liveWeight == 0 {
		return "", errAllDown
	}
	// The paper's m: the requests the live backends hold (its bins),
	// with the one being placed. Those a down backend still holds are in
	// no bin; counted in, they would raise every live capacity.
	load := b.pool.UpInFlight(now) + 1
	if key == "" {
		// Spread as the other hash balancers do, but the bound holds
		// here too: the round skips backends at capacity.
		return unkeyed(b.pool, now, func(i int) bool {
			peer := &b.pool.Peers[i]
			return peer.InFlight >= capacity(b.cMicro, load, peer.Weight, liveWeight)
		})
	}
	start := b.ring.Search(key)
	firstUp := -1
	for k := range b.ring.Len() {
		i, _ := b.pool.Index(b.ring.Node(start + k))
		if !b.pool.Up(i, now) {
			continue
		}
		peer := &b.pool.Peers[i]
		if peer.InFlight < capacity(b.cMicro, load, peer.Weight, liveWeight) {
			b.pool.Picked(i, now)
			return peer.ID, nil
		}
		if firstUp < 0 {
			firstUp = i
		}
	}
	// Not reached: the live backends' capacities add up to at least
	// c * load >= load, more than the requests they hold, so one of them
	// is below its own. Should a change break that, overload the key's
	// own live backend rather than fail the request.
	b.pool.Picked(firstUp, now)
	return b.pool.Peers[firstUp].ID, nil
}

// PickExcept is locked's pick for a retry, with the bound kept: a retry
// is a request placed like any other, so it goes only to a backend below
// its capacity. Among the live backends not skipped and below capacity it
// takes the least loaded for its weight (the first added on a tie), as
// locked's does; if some backend below capacity is not skipped, the least
// loaded is one of them (its load per unit of weight is below c * load /
// live weight), so the bound only changes the pick when every backend
// left is at its capacity. Then there is no pick: the error is
// ErrNoBackend, as when nginx finds every server at its max_conns, rather
// than a request past the bound. Skipped backends are still bins of the
// paper: their requests count in the load and their weight in the live
// weight.
func (b *BoundedLoad) PickExcept(skip func(id string) bool) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.pool
	if len(p.Peers) == 0 {
		return "", errEmpty
	}
	now := p.Now()
	liveWeight := p.UpWeight(now)
	if liveWeight == 0 {
		return "", errAllDown
	}
	load := p.UpInFlight(now) + 1
	best, full := -1, false
	for i := range p.Peers {
		peer := &p.Peers[i]
		if skip(peer.ID) || !p.Up(i, now) {
			continue
		}
		if peer.InFlight >= capacity(b.cMicro, load, peer.Weight, liveWeight) {
			full = true
			continue
		}
		if best < 0 || peer.InFlight*p.Peers[best].Weight < p.Peers[best].InFlight*peer.Weight {
			best = i
		}
	}
	switch {
	case best >= 0:
		p.Picked(best, now)
		return p.Peers[best].ID, nil
	case full:
		return "", errAllFull
	}
	return "", errAllSkipped // liveWeight > 0: some backend is up
}

// capacity is ceil(c * load * weight / liveWeight), c given in
// millionths, in exact integer arithmetic (128 bits for the product).
func capacity(cMicro uint64, load, weight, liveWeight int) int {
	hi, lo := bits.Mul64(cMicro, uint64(load)*uint64(weight))
	d := uint64(liveWeight) * 1e6
	if hi >= d {
		return math.MaxInt // the quotient needs more than 64 bits
	}
	q, r := bits.Div64(hi, lo, d)
	if r > 0 {
		q++
	}
	if q > math.MaxInt {
		return math.MaxInt
	}
	return int(q)
}
