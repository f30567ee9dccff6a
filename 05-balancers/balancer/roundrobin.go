package balancer

// RoundRobin picks each backend in turn, ignoring weights, and skips
// backends that are down.
type RoundRobin struct {
	locked
	next int // the position to try first on the next Pick
}

// NewRoundRobin returns an empty RoundRobin balancer.
func NewRoundRobin(opts Options) *RoundRobin {
	return &RoundRobin{locked: newLocked(opts)}
}

// Pick returns the next backend that is up: O(1) while all are up.
func (b *RoundRobin) Pick(string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(b.pool.Peers)
	if n == 0 {
		return "", errEmpty
	}
	now := b.pool.Now()
	for k := range n {
		i := (b.next + k) % n // the pool may have shrunk: stay in range
		if b.pool.Up(i, now) {
			b.next = i + 1
			b.pool.Picked(i, now)
			return b.pool.Peers[i].ID, nil
		}
	}
	return "", errAllDown
}
