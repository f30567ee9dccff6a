package balancer

import "time"

// RoundSkipper is a balancer that can pick for a retry of a request
// without a key inside its own round: the round goes on as for Pick, but
// passes over the backends the request has tried without touching their
// turn. SmoothWeighted, RoundRobin, and the hash balancers' keyless path
// (ConsistentHash, BoundedLoad, Maglev) have it.
//
// Pick, then throwing the pick away when it is a backend tried, would
// spend that backend's turn (its Current loses the round's total); and
// PickExcept, the least loaded backend, would send every retry to the
// first backend on a tie. nginx's loop (ngx_http_upstream_get_peer)
// passes over a peer in the request's tried bitmap before it adds to the
// peer's current weight, so the tried peer's turn is neither spent nor
// gained: with weights {a:5, b:1, c:1}, after a is picked and a retry
// skipping a goes to b, the next picks are a c a a b a a, a c a a b a a
// (TestPickSkippingKeepsTheSkippedBackendsTurn).
type RoundSkipper interface {
	// PickSkipping returns the backend the balancer's round picks among
	// those up for which skip returns false, and counts the pick, as
	// Pick does: one Report must follow. The error is ErrNoBackend when
	// no backend is up and not skipped (and, for BoundedLoad, below its
	// capacity).
	PickSkipping(skip func(id string) bool) (string, error)
}

// PickSkipping is one round of the loop with the skipped peers left out
// (see RoundSkipper). It leaves a replayed period first: the skipped
// peers' Current weights do not move, so the sequence changes.
func (b *SmoothWeighted) PickSkipping(skip func(id string) bool) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pool.Peers) == 0 {
		return "", errEmpty
	}
	b.change()
	return roundSkipping(b.pool, b.pool.Now(), nil, skip)
}

// PickSkipping returns the first backend from the cursor that is up and
// not skipped, and leaves the cursor where it is: the retry takes no
// backend's turn, and a skipped backend at the cursor keeps its own.
// Moving the cursor past the pick would bring the tried backend's next
// turn one pick nearer at each retry: with three backends of which one
// fails one request in four, it would take 2546 of 7000 first attempts
// instead of its 2333 (TestKeylessRetriesKeepFirstAttemptsInProportion,
// stage 06).
func (b *RoundRobin) PickSkipping(skip func(id string) bool) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(b.pool.Peers)
	if n == 0 {
		return "", errEmpty
	}
	now := b.pool.Now()
	up := false
	for k := range n {
		i := (b.next + k) % n
		if !b.pool.Up(i, now) {
			continue
		}
		up = true
		if !skip(b.pool.Peers[i].ID) {
			b.pool.Picked(i, now)
			return b.pool.Peers[i].ID, nil
		}
	}
	if !up {
		return "", errAllDown
	}
	return "", errAllSkipped
}

// PickSkipping is the keyless path's round (see unkeyed) with the skipped
// backends left out.
func (b *ConsistentHash) PickSkipping(skip func(id string) bool) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pool.Peers) == 0 {
		return "", errEmpty
	}
	return roundSkipping(b.pool, b.pool.Now(), nil, skip)
}

// PickSkipping is the keyless path's round (see unkeyed) with the skipped
// backends left out.
func (b *Maglev) PickSkipping(skip func(id string) bool) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pool.Peers) == 0 {
		return "", errEmpty
	}
	return roundSkipping(b.pool, b.pool.Now(), nil, skip)
}

// PickSkipping is the keyless path's round (see Pick) with the skipped
// backends left out and the bound kept, the skipped backends being bins
// like the others (as in PickExcept).
func (b *BoundedLoad) PickSkipping(skip func(id string) bool) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pool.Peers) == 0 {
		return "", errEmpty
	}
	now := b.pool.Now()
	liveWeight := b.pool.UpWeight(now)
	if liveWeight == 0 {
		return "", errAllDown
	}
	load := b.pool.UpInFlight(now) + 1
	return roundSkipping(b.pool, now, func(i int) bool {
		peer := &b.pool.Peers[i]
		return peer.InFlight >= capacity(b.cMicro, load, peer.Weight, liveWeight)
	}, skip)
}

// roundSkipping is one round of smooth weighted round robin (nextSmooth)
// passing over the peers that skip names or full reports, and counts its
// pick. With no pick, it says why: none up, every one left full, or
// every one up skipped.
func roundSkipping(p *Pool, now time.Time, full func(i int) bool, skip func(id string) bool) (string, error) {
	i, ok := nextSmooth(p, now, func(i int) bool {
		return skip(p.Peers[i].ID) || full != nil && full(i)
	})
	if ok {
		p.Picked(i, now)
		return p.Peers[i].ID, nil
	}
	up := false
	for i := range p.Peers {
		if !p.Up(i, now) {
			continue
		}
		up = true
		if full != nil && !skip(p.Peers[i].ID) && full(i) {
			return "", errAllFull
		}
	}
	if !up {
		return "", errAllDown
	}
	return "", errAllSkipped
}
