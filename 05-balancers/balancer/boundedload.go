package balancer

import (
	"fmt"
	"math"
)

// BoundedLoad is consistent hashing with bounded loads (Mirrokni, Thorup
// and Zadimoghaddam, SODA 2018). Plain consistent hashing sends a hot key,
// or an unlucky arc of the ring, to one backend however busy it is. Here
// every backend has a capacity of ceil(c * average load), scaled by its
// weight, where the load is in-flight requests counting the new one; a
// key goes to the first backend clockwise from its place that is live and
// below capacity. So no backend ever takes a request that would put it
// above ceil(c * average), and a key still reaches the same backend as
// long as that backend is not overloaded.
//
// c (Options.LoadFactor, at least 1) trades balance for stickiness: close
// to 1, loads are even and keys move often; large, it is plain consistent
// hashing.
type BoundedLoad struct {
	ConsistentHash
	c float64
}

// NewBoundedLoad returns an empty BoundedLoad balancer. It fails if
// opts.LoadFactor is below 1.
func NewBoundedLoad(opts Options) (*BoundedLoad, error) {
	opts = opts.withDefaults()
	if opts.LoadFactor < 1 {
		return nil, fmt.Errorf("bounded load: the load factor c must be at least 1, got %v", opts.LoadFactor)
	}
	return &BoundedLoad{ConsistentHash: *NewConsistentHash(opts), c: opts.LoadFactor}, nil
}

// Pick returns the first live backend clockwise from key that is below
// its capacity.
func (b *BoundedLoad) Pick(key string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ring.Len() == 0 {
		return "", errEmpty
	}
	now := b.pool.Now()
	load := float64(b.pool.InFlight() + 1) // with the request being placed
	start := b.ring.Search(key)
	firstUp := -1
	for k := range b.ring.Len() {
		i, _ := b.pool.Index(b.ring.Node(start + k))
		if !b.pool.Up(i, now) {
			continue
		}
		peer := &b.pool.Peers[i]
		capacity := int(math.Ceil(b.c * load * float64(peer.Weight) / float64(b.pool.TotalWeight())))
		if peer.InFlight < capacity {
			b.pool.Picked(i, now)
			return peer.ID, nil
		}
		if firstUp < 0 {
			firstUp = i
		}
	}
	// Every live backend is at capacity: possible only when so many are
	// down that the live ones cannot hold c times the average. Overload
	// the key's own live backend rather than fail the request.
	if firstUp < 0 {
		return "", errAllDown
	}
	b.pool.Picked(firstUp, now)
	return b.pool.Peers[firstUp].ID, nil
}
