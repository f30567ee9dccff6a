package balancer

import (
	"math/rand/v2"
	"slices"
)

// TwoChoices is "the power of two choices" (Mitzenmacher, 2001): draw two
// backends at random and pick the one with fewer in-flight requests per
// unit of weight. Checking only two keeps a pick cheap (two weighted
// draws, each a binary search: O(log n)), yet it avoids the worst of
// random's imbalance: with m requests held by n backends the busiest is
// about log log n above the average, where random's excess grows like
// sqrt((m/n) log n). nginx calls it "random two least_conn"; Envoy's
// least-request balancer does the same when all weights are equal.
//
// As in nginx, each backend is drawn with a chance proportional to its
// weight. The second is drawn from the other backends' weight only, so it
// always differs from the first: the same distribution as nginx's
// drawing again until it differs, without nginx's limit on draws,
// which with one heavy backend (weights 256, 1, 1) would rarely find a
// light one and leave the heavy one uncompared. A backend drawn down is
// drawn again, up to maxDraws draws in all (nginx's limit), so that the
// two compared are live even when many are down. If that many draws find
// fewer than two, most backends are down: the pick is the one live
// backend found, or any live backend. On a tie (two idle backends) the
// first drawn wins, so idle picks follow the weights; nginx keeps the
// second.
type TwoChoices struct {
	locked
	rand *rand.Rand
	upTo []int // upTo[i] is the sum of the weights of peers 0..i
}

// maxDraws is how many draws a pick makes, at most, to find two live
// backends, as in nginx: ngx_http_upstream_get_random2_peer counts each
// draw that does not complete the pair, the first live one's included,
// and gives up when the count passes 20, so its 21st draw is its last.
const maxDraws = 21

// NewTwoChoices returns an empty TwoChoices balancer.
func NewTwoChoices(opts Options) *TwoChoices {
	opts = opts.withDefaults()
	return &TwoChoices{locked: newLocked(opts), rand: rand.New(opts.Rand)}
}

// Add adds a backend, which is then drawn in proportion to weight.
func (b *TwoChoices) Add(id string, weight int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.pool.Add(id, weight); err != nil {
		return err
	}
	b.sumWeights()
	return nil
}

// Remove removes a backend.
func (b *TwoChoices) Remove(id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.pool.Remove(id); err != nil {
		return err
	}
	b.sumWeights()
	return nil
}

func (b *TwoChoices) sumWeights() {
	b.upTo = b.upTo[:0]
	sum := 0
	for _, p := range b.pool.Peers {
		sum += p.Weight
		b.upTo = append(b.upTo, sum)
	}
}

// draw returns a peer at random, each with a chance proportional to its
// weight: the first whose running sum of weights passes a number drawn
// below the total. With not >= 0, it draws among the other peers: the
// number is drawn below the total less not's weight, and skips not's
// range of numbers.
func (b *TwoChoices) draw(not int) int {
	total := b.pool.TotalWeight()
	if not >= 0 {
		total -= b.pool.Peers[not].Weight
	}
	x := b.rand.IntN(total)
	if not >= 0 && x >= b.upTo[not]-b.pool.Peers[not].Weight {
		x += b.pool.Peers[not].Weight
	}
	i, _ := slices.BinarySearch(b.upTo, x+1)
	return i
}

// Pick draws two distinct live backends and returns the less loaded.
func (b *TwoChoices) Pick(string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	peers := b.pool.Peers
	if len(peers) == 0 {
		return "", errEmpty
	}
	now := b.pool.Now()
	pick, draws := -1, maxDraws // pick: the first live backend drawn
	if len(peers) == 1 {
		pick, draws = 0, 0 // no second to draw
	}
	for range draws {
		i := b.draw(pick) // never pick again
		if !b.pool.Up(i, now) {
			continue
		}
		if pick < 0 {
			pick = i
			continue
		}
		// i is the second: take it if it is less loaded (on a tie, the first).
		if peers[i].InFlight*peers[pick].Weight < peers[pick].InFlight*peers[i].Weight {
			pick = i
		}
		b.pool.Picked(pick, now)
		return peers[pick].ID, nil
	}
	// One backend, or maxDraws draws found fewer than two live ones (most
	// are down): take the live one found, else any live one.
	if pick < 0 || !b.pool.Up(pick, now) {
		var ok bool
		if pick, ok = randomUp(b.pool, b.rand, now); !ok {
			return "", errAllDown
		}
	}
	b.pool.Picked(pick, now)
	return peers[pick].ID, nil
}
