package balancer

import "github.com/gocourse/gateway/05-balancers/ring"

// ConsistentHash sends each key to its backend on a consistent hash ring
// (package ring): the same key reaches the same backend, which keeps a
// backend's caches warm, and adding or removing one of N backends moves
// only about 1/N of the keys. A backend of weight w gets w times the
// virtual nodes.
//
// Failover: a key whose backend is down goes to the next live backend
// clockwise, and comes back when its own backend recovers, because its
// place on the ring never changed. Only the down backend's keys move.
type ConsistentHash struct {
	locked
	ring *ring.Ring
}

// NewConsistentHash returns an empty ConsistentHash balancer. It fails
// if opts.Replicas is negative or above MaxReplicas, or
// opts.Health.FailTimeout is negative.
func NewConsistentHash(opts Options) (*ConsistentHash, error) {
	if err := opts.checkReplicas("chash"); err != nil {
		return nil, err
	}
	if err := opts.checkHealth("chash"); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	return &ConsistentHash{locked: newLocked(opts), ring: ring.New(opts.Replicas, opts.Hash)}, nil
}

// Add adds a backend and its virtual nodes.
func (b *ConsistentHash) Add(id string, weight int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.pool.Add(id, weight); err != nil {
		return err
	}
	b.ring.Add(id, weight)
	return nil
}

// Remove removes a backend and its virtual nodes.
func (b *ConsistentHash) Remove(id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.pool.Remove(id); err != nil {
		return err
	}
	b.ring.Remove(id)
	return nil
}

// Pick returns key's backend, or the first live one clockwise from it
// (and for an empty key, the next of smooth weighted round robin: see
// unkeyed):
// O(log points) to find the key's place, plus a step per down point.
// When every backend is down it says so at once rather than walk every
// point of the ring, holding the lock (O(1) to tell, unless every backend
// has failed: then O(n), as a timeout may have passed).
func (b *ConsistentHash) Pick(key string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ring.Len() == 0 {
		return "", errEmpty
	}
	now := b.pool.Now()
	if b.pool.allDown(now) {
		return "", errAllDown
	}
	if key == "" {
		return unkeyed(b.pool, now, nil)
	}
	start := b.ring.Search(key)
	for k := range b.ring.Len() {
		i, _ := b.pool.Index(b.ring.Node(start + k))
		if b.pool.Up(i, now) {
			b.pool.Picked(i, now)
			return b.pool.Peers[i].ID, nil
		}
	}
	return "", errAllDown
}
