package meta

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// Registry keeps the data servers that have sent a heartbeat recently.
// A server that has been silent for longer than the timeout is dead: it
// gets no new blobs and is tried last on reads. The clock is injected,
// so tests move time instead of waiting for it.
type Registry struct {
	timeout time.Duration
	now     func() time.Time

	mu      sync.Mutex
	servers map[string]seen
}

type seen struct {
	hb   Heartbeat
	last time.Time
}

// NewRegistry returns a registry whose servers die after timeout of
// silence, measured with now (time.Now if nil).
func NewRegistry(timeout time.Duration, now func() time.Time) *Registry {
	if now == nil {
		now = time.Now
	}
	return &Registry{timeout: timeout, now: now, servers: map[string]seen{}}
}

// Beat records a heartbeat.
func (r *Registry) Beat(hb Heartbeat) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.servers[hb.Addr] = seen{hb: hb, last: r.now()}
}

// Live returns the live servers' last heartbeats, sorted by address.
func (r *Registry) Live() []Heartbeat {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	var live []Heartbeat
	for _, s := range r.servers {
		if now.Sub(s.last) <= r.timeout {
			live = append(live, s.hb)
		}
	}
	slices.SortFunc(live, func(a, b Heartbeat) int { return strings.Compare(a.Addr, b.Addr) })
	return live
}

// IsLive reports whether addr has sent a heartbeat within the timeout.
func (r *Registry) IsLive(addr string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.servers[addr]
	return ok && r.now().Sub(s.last) <= r.timeout
}
