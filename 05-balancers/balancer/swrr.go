package balancer

import "time"

// SmoothWeighted is nginx's smooth weighted round robin (nginx commit
// 52327e0, 2012). Each round, every live peer's Current grows by its
// Effective weight; the peer with the largest Current is picked and loses
// the round's total. With weights {a:5, b:1, c:1} it picks
// a a b a c a a, then repeats: each peer gets its share of every period of
// 7 picks, interleaved rather than in a burst (a a a a a b c).
//
// nginx's round is a loop over every peer, so a pick costs O(n). Here the
// loop is the reference path; while nothing changes (all peers healthy,
// every Effective equal to its Weight) the same picks repeat with a period
// of sum(weights), so the balancer records one period, as the loop makes
// its picks, and then replays it in O(1) per pick. See swrr_period.go for
// why that is exact.
type SmoothWeighted struct {
	locked
	period // the period being recorded, or replayed when valid
}

// NewSmoothWeighted returns an empty SmoothWeighted balancer.
func NewSmoothWeighted(opts Options) *SmoothWeighted {
	return &SmoothWeighted{locked: newLocked(opts)}
}

// Add adds a backend; a new peer starts with Current 0, as in nginx.
func (b *SmoothWeighted) Add(id string, weight int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.change()
	return b.pool.Add(id, weight)
}

// Remove removes a backend; the others keep their Current weights.
func (b *SmoothWeighted) Remove(id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.change()
	return b.pool.Remove(id)
}

// Report records an outcome. A failure lowers the peer's Effective weight
// (and may mark it down), which changes the sequence: the balancer goes
// back to the reference loop until the pool is steady again.
func (b *SmoothWeighted) Report(id string, o Outcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if o == Failure {
		b.change()
	}
	b.pool.Report(id, o)
}

// change is called before anything that can change the sequence.
func (b *SmoothWeighted) change() {
	b.period.leave(b.pool)
}

// Pick returns the next peer of the smooth weighted sequence: O(1) while
// a period is replayed, else one round of the loop, O(n), recorded while
// the pool is steady.
func (b *SmoothWeighted) Pick(string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pool.Peers) == 0 {
		return "", errEmpty
	}
	now := b.pool.Now()
	if b.period.valid {
		i := b.period.next()
		b.pool.Picked(i, now)
		return b.pool.Peers[i].ID, nil
	}
	recording := b.period.watch(b.pool)
	i, ok := nextSmooth(b.pool, now, nil)
	if !ok {
		return "", errAllDown
	}
	if recording {
		b.period.add(b.pool, i)
	}
	b.pool.Picked(i, now)
	return b.pool.Peers[i].ID, nil
}

// nextSmooth is one round of nginx's loop (ngx_http_upstream_get_peer):
// O(n). It skips the peers that are down, and those full reports (nil:
// none), as nginx's loop skips a peer at its max_conns. It returns false
// if it skipped every peer.
func nextSmooth(p *Pool, now time.Time, full func(i int) bool) (int, bool) {
	best, total := -1, 0
	for i := range p.Peers {
		if !p.Up(i, now) || full != nil && full(i) {
			continue
		}
		peer := &p.Peers[i]
		peer.Current += peer.Effective
		total += peer.Effective
		if peer.Effective < peer.Weight {
			peer.Effective++ // recover from failures, one step per round
		}
		if best < 0 || peer.Current > p.Peers[best].Current {
			best = i
		}
	}
	if best < 0 {
		return 0, false
	}
	p.Peers[best].Current -= total
	return best, true
}
