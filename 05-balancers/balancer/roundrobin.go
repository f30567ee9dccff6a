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

// Remove removes a backend. The backends after it move down one
// position, so the cursor moves down with them when it is past the
// removed one: left where it was, it would point one backend too far, and
// that backend would lose its turn (TestRoundRobinKeepsItsTurnAcrossARemove).
func (b *RoundRobin) Remove(id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	i, ok := b.pool.Index(id)
	if err := b.pool.Remove(id); err != nil {
		return err
	}
	if ok && i < b.next {
		b.next--
	}
	return nil
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
