package balancer

import "math/rand/v2"

// TwoChoices is "the power of two choices" (Mitzenmacher, 2001): draw two
// backends at random and pick the one with fewer in-flight requests per
// unit of weight. Checking only two keeps a pick O(1), yet it avoids the
// worst of random's imbalance: with n servers the busiest queue drops from
// about log n / log log n to about log log n. nginx calls it
// "random two least_conn"; Envoy's least-request balancer does the same.
//
// The two are drawn uniformly, so when every backend is idle the weights
// play no part.
type TwoChoices struct {
	locked
	rand *rand.Rand
}

// NewTwoChoices returns an empty TwoChoices balancer.
func NewTwoChoices(opts Options) *TwoChoices {
	opts = opts.withDefaults()
	return &TwoChoices{locked: newLocked(opts), rand: rand.New(opts.Rand)}
}

// Pick draws two distinct backends and returns the less loaded live one.
func (b *TwoChoices) Pick(string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	peers := b.pool.Peers
	n := len(peers)
	if n == 0 {
		return "", errEmpty
	}
	now := b.pool.Now()
	i := b.rand.IntN(n)
	if n > 1 {
		j := b.rand.IntN(n - 1)
		if j >= i {
			j++ // two distinct peers, each pair equally likely
		}
		switch upI, upJ := b.pool.Up(i, now), b.pool.Up(j, now); {
		case upI && upJ:
			if peers[j].InFlight*peers[i].Weight < peers[i].InFlight*peers[j].Weight {
				i = j
			}
		case upJ:
			i = j
		}
	}
	if !b.pool.Up(i, now) {
		var ok bool
		if i, ok = randomUp(b.pool, b.rand, now); !ok {
			return "", errAllDown
		}
	}
	b.pool.Picked(i, now)
	return peers[i].ID, nil
}
