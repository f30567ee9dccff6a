package balancer

// LeastConn picks the backend with the fewest in-flight requests per unit
// of weight, as nginx's least_conn does: a peer with weight 2 and 4
// requests in flight (ratio 2) is as loaded as one with weight 1 and 2.
//
// Ties are common (every idle backend has 0) and are broken as nginx
// breaks them: by smooth weighted round robin among the tied peers. The
// choice stays deterministic, and when the load is light and every peer
// is tied, the picks follow the weights exactly.
type LeastConn struct {
	locked
}

// NewLeastConn returns an empty LeastConn balancer.
func NewLeastConn(opts Options) *LeastConn {
	return &LeastConn{locked: newLocked(opts)}
}

// Pick scans every backend: O(n).
func (b *LeastConn) Pick(string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	peers := b.pool.Peers
	if len(peers) == 0 {
		return "", errEmpty
	}
	now := b.pool.Now()

	// The least loaded ratio InFlight/Weight, compared by cross
	// multiplication to stay in integers.
	best, tied := -1, 0
	for i := range peers {
		if !b.pool.Up(i, now) {
			continue
		}
		switch {
		case best < 0 || peers[i].InFlight*peers[best].Weight < peers[best].InFlight*peers[i].Weight:
			best, tied = i, 1
		case peers[i].InFlight*peers[best].Weight == peers[best].InFlight*peers[i].Weight:
			tied++
		}
	}
	if best < 0 {
		return "", errAllDown
	}

	if tied > 1 {
		// One smooth weighted round among the tied peers only.
		first, total := best, 0
		for i := first; i < len(peers); i++ {
			if !b.pool.Up(i, now) || peers[i].InFlight*peers[first].Weight != peers[first].InFlight*peers[i].Weight {
				continue
			}
			peers[i].Current += peers[i].Effective
			total += peers[i].Effective
			if peers[i].Effective < peers[i].Weight {
				peers[i].Effective++
			}
			if peers[i].Current > peers[best].Current {
				best = i
			}
		}
		peers[best].Current -= total
	}
	b.pool.Picked(best, now)
	return peers[best].ID, nil
}
