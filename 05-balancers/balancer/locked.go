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
