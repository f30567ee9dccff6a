package balancer

import "sync"

// locked is the part every balancer in this package shares: a Pool behind
// a mutex, with Add, Remove and Report. An algorithm embeds it, writes
// Pick, and overrides Add and Remove when it keeps more than the pool.
//
// One mutex held across the whole Pick is the simple way to be race-free:
// choosing a backend reads state that the previous pick changed (a
// cursor, a weight, a count). Naive balancers that keep a plain counter
// without a lock corrupt it under load.
type locked struct {
	mu   sync.Mutex
	pool *Pool
}

func newLocked(opts Options) locked { return locked{pool: NewPool(opts)} }

func (l *locked) Add(id string, weight int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pool.Add(id, weight)
}

func (l *locked) Remove(id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pool.Remove(id)
}

func (l *locked) Report(id string, o Outcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pool.Report(id, o)
}

// Unpick undoes a pick that was not used (see Pool.Unpick), in place of
// its Report.
func (l *locked) Unpick(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pool.Unpick(id)
}

// PickExcept chooses a backend that is up and for which skip returns
// false, whatever the algorithm would choose: the least loaded per unit
// of weight, the first added on a tie. It is for a retry, which must
// reach a backend it has not tried yet, where Pick may go on returning
// one it has: a hash maps keys to one backend far more often than to
// another when their weights differ, and weights of 20 to 1 make smooth
// weighted round robin pick the heavy backend twenty times in a row
// (nginx's hash falls back to round robin after 20 such picks). Like
// Pick, it counts the pick (in flight, and as passive health's probe of
// a backend whose fail_timeout has passed), and one Report must follow.
// The error is ErrNoBackend when no backend is both up and not skipped;
// its message says whether none is up or every one up is skipped (a
// retry that has tried them all), since "every backend is down" would
// send whoever reads it to look at healthy backends. BoundedLoad has its
// own, which also keeps its bound.
func (l *locked) PickExcept(skip func(id string) bool) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.pool
	if len(p.Peers) == 0 {
		return "", errEmpty
	}
	now := p.Now()
	best, up := -1, false
	for i := range p.Peers {
		if !p.Up(i, now) {
			continue
		}
		up = true
		if skip(p.Peers[i].ID) {
			continue
		}
		if best < 0 || p.Peers[i].InFlight*p.Peers[best].Weight < p.Peers[best].InFlight*p.Peers[i].Weight {
			best = i
		}
	}
	switch {
	case !up:
		return "", errAllDown
	case best < 0:
		return "", errAllSkipped
	}
	p.Picked(best, now)
	return p.Peers[best].ID, nil
}
