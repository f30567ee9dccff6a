package meta

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// Registry keeps the data servers that have sent a heartbeat recently,
// and says what state each is in (see State). The clock is injected, so
// tests move time instead of waiting for it.
type Registry struct {
	timeout, grace time.Duration
	now            func() time.Time
	started        time.Time

	mu      sync.Mutex
	servers map[string]seen // by ID
}

// State is what the metadata server believes about a data server.
type State string

// A data server is Alive while it beats. Silent for longer than the
// timeout it is Suspect: it gets no new blobs and is read last, but its
// copies still count, because a server that missed a few beats (a
// restart, a long pause) usually comes back, and copying everything it
// holds at once would load the whole store for nothing. Silent for the
// grace period on top it is Dead: its copies no longer count, and
// repair makes new ones elsewhere. A server whose address another one
// beats from is Suspect at once (see Beat).
const (
	Alive   State = "alive"
	Suspect State = "suspect"
	Dead    State = "dead"
)

type seen struct {
	hb   Heartbeat
	last time.Time
	// displaced is set when another server beats from this one's
	// address: only one process listens on an address, so this one has
	// gone from it (a new disk, a new ID, the same port). It is at most
	// Suspect until it beats again, from wherever it is now: left Alive
	// it could be placed beside its successor, two "distinct" replicas on
	// one machine.
	displaced bool
}

// NewRegistry returns a registry whose servers are suspect after timeout
// of silence and dead after timeout+grace, measured with now (time.Now
// if nil).
func NewRegistry(timeout, grace time.Duration, now func() time.Time) *Registry {
	if now == nil {
		now = time.Now
	}
	return &Registry{timeout: timeout, grace: grace, now: now, started: now(), servers: map[string]seen{}}
}

// State returns server id's state. A server not heard from since the
// registry started is judged as if it had beaten at the start: after a
// restart of the metadata server, every data server gets a full timeout
// and grace period to say hello before its copies stop counting.
func (r *Registry) State(id string) State {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.servers[id]
	if !ok {
		s = seen{last: r.started}
	}
	return r.state(s)
}

func (r *Registry) state(s seen) State {
	switch silent := r.now().Sub(s.last); {
	case silent <= r.timeout && !s.displaced:
		return Alive
	case silent <= r.timeout:
		return Suspect
	case silent <= r.timeout+r.grace:
		return Suspect
	default:
		return Dead
	}
}

// Status is one data server as the registry sees it.
type Status struct {
	Heartbeat
	State    State     `json:"state"`
	LastBeat time.Time `json:"last_beat"`
}

// Servers returns every server that has beaten since the registry
// started, sorted by ID.
func (r *Registry) Servers() []Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all []Status
	for _, s := range r.servers {
		all = append(all, Status{Heartbeat: s.hb, State: r.state(s), LastBeat: s.last})
	}
	slices.SortFunc(all, func(a, b Status) int { return strings.Compare(a.ID, b.ID) })
	return all
}

// Beat records a heartbeat. Any other server last seen at the same
// address is displaced (see seen).
func (r *Registry) Beat(hb Heartbeat) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, s := range r.servers {
		if id != hb.ID && s.hb.Addr == hb.Addr && !s.displaced {
			s.displaced = true
			r.servers[id] = s
		}
	}
	r.servers[hb.ID] = seen{hb: hb, last: r.now()}
}

func (r *Registry) live(s seen) bool { return r.state(s) == Alive }

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

// IsLive reports whether server id is Alive.
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
