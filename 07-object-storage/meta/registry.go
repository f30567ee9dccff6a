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
	servers map[string]seen // by ID
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
	r.servers[hb.ID] = seen{hb: hb, last: r.now()}
}

func (r *Registry) live(s seen) bool { return r.now().Sub(s.last) <= r.timeout }

// Live returns the live servers' last heartbeats, sorted by ID.
func (r *Registry) Live() []Heartbeat {
	r.mu.Lock()
	defer r.mu.Unlock()
	var live []Heartbeat
	for _, s := range r.servers {
		if r.live(s) {
			live = append(live, s.hb)
		}
	}
	slices.SortFunc(live, func(a, b Heartbeat) int { return strings.Compare(a.ID, b.ID) })
	return live
}

// IsLive reports whether server id has sent a heartbeat within the timeout.
func (r *Registry) IsLive(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.servers[id]
	return ok && r.live(s)
}

// Addr returns the address server id last gave, live or not.
func (r *Registry) Addr(id string) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.servers[id]
	return s.hb.Addr, ok
}

// LiveID returns the ID of the live server at addr.
func (r *Registry) LiveID(addr string) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, s := range r.servers {
		if s.hb.Addr == addr && r.live(s) {
			return id, true
		}
	}
	return "", false
}

// ID returns the ID of the server last seen at addr, live or not.
func (r *Registry) ID(addr string) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var found seen
	for _, s := range r.servers {
		if s.hb.Addr == addr && (found.hb.ID == "" || s.last.After(found.last)) {
			found = s
		}
	}
	return found.hb.ID, found.hb.ID != ""
}
