package balancer

import (
	"fmt"
	"slices"
	"time"
)

// Pool is the bookkeeping every balancer shares: its backends, their
// weights, in-flight requests and health. An algorithm keeps a Pool and
// adds only its way of choosing; a learner's balancer can do the same.
//
// A Pool is not safe for concurrent use: its balancer guards it with a
// mutex, held across a whole Pick so that choosing and counting the pick
// are one step.
type Pool struct {
	Peers []Peer // in the order they were added

	health   Health
	now      func() time.Time
	index    map[string]int // id -> position in Peers
	inFlight int            // the sum of every peer's InFlight
	weight   int            // the sum of every peer's Weight
	failing  int            // peers with MaxFails failures or more (not Healthy)
}

// Peer is one backend as a Pool sees it. The exported fields are the ones
// algorithms read and, for Current and Effective, update.
type Peer struct {
	ID       string
	Weight   int
	InFlight int // picked and not yet reported

	// Current and Effective are smooth weighted round robin's per-peer
	// state, named as in nginx (current_weight, effective_weight).
	// Effective starts at Weight, drops on failures and climbs back by 1
	// each time the peer takes part in a round.
	Current, Effective int

	// Passive health state, as nginx keeps it.
	fails    int       // failures counted since the peer last recovered
	accessed time.Time // the last failure
	checked  time.Time // the last failure, or the last pick after a quiet fail_timeout
}

// NewPool returns an empty pool using opts' health settings and clock.
// It panics on a negative Health.FailTimeout, which New and the
// constructors with an error result return as ErrBadOption: those without
// one (and a learner's balancer built on a Pool) have no other way to
// refuse it, and taken, it would turn health tracking off without a word.
func NewPool(opts Options) *Pool {
	if err := opts.checkHealth("pool"); err != nil {
		panic(err)
	}
	opts = opts.withDefaults()
	return &Pool{health: opts.Health, now: opts.Now, index: map[string]int{}}
}

// Now reads the pool's clock.
func (p *Pool) Now() time.Time { return p.now() }

// Add adds a backend; its position in Peers is len(Peers)-1.
func (p *Pool) Add(id string, weight int) error {
	if weight < 1 || weight > MaxWeight {
		return fmt.Errorf("backend %q: %w (got %d)", id, ErrBadWeight, weight)
	}
	if _, ok := p.index[id]; ok {
		return fmt.Errorf("%w: %q", ErrDuplicateBackend, id)
	}
	p.index[id] = len(p.Peers)
	p.Peers = append(p.Peers, Peer{ID: id, Weight: weight, Effective: weight})
	p.weight += weight
	return nil
}

// Remove removes a backend. Peers after it move down one position.
func (p *Pool) Remove(id string) error {
	i, ok := p.index[id]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownBackend, id)
	}
	p.inFlight -= p.Peers[i].InFlight
	p.weight -= p.Peers[i].Weight
	if !p.Healthy(i) {
		p.failing--
	}
	p.Peers = slices.Delete(p.Peers, i, i+1)
	delete(p.index, id)
	for j := i; j < len(p.Peers); j++ {
		p.index[p.Peers[j].ID] = j
	}
	return nil
}

// Index returns the position of id in Peers.
func (p *Pool) Index(id string) (int, bool) {
	i, ok := p.index[id]
	return i, ok
}

// InFlight returns the number of requests picked and not yet reported,
// over all peers.
func (p *Pool) InFlight() int { return p.inFlight }

// TotalWeight returns the sum of all peers' weights.
func (p *Pool) TotalWeight() int { return p.weight }

// UpWeight returns the sum of the weights of the peers up at time now:
// TotalWeight, in O(1), while every peer is Healthy, else by a scan.
func (p *Pool) UpWeight(now time.Time) int {
	if p.failing == 0 {
		return p.weight
	}
	sum := 0
	for i := range p.Peers {
		if p.Up(i, now) {
			sum += p.Peers[i].Weight
		}
	}
	return sum
}

// UpInFlight returns the requests in flight on the peers up at time now:
// InFlight, in O(1), while every peer is Healthy, else by a scan. A down
// peer may still hold requests picked before it went down.
func (p *Pool) UpInFlight(now time.Time) int {
	if p.failing == 0 {
		return p.inFlight
	}
	sum := 0
	for i := range p.Peers {
		if p.Up(i, now) {
			sum += p.Peers[i].InFlight
		}
	}
	return sum
}

// allDown reports whether no peer is up at time now: O(1) unless every
// peer has failed (then a scan, since a timeout may have passed).
func (p *Pool) allDown(now time.Time) bool {
	return p.failing == len(p.Peers) && p.UpWeight(now) == 0
}

// Up reports whether peer i may be picked at time now. It is down after
// MaxFails failures, until more than FailTimeout has passed since the
// last failure (or since the last probe: see Picked); at exactly
// FailTimeout it is still down, as nginx compares.
func (p *Pool) Up(i int, now time.Time) bool {
	h := &p.Peers[i]
	return p.health.MaxFails < 0 || h.fails < p.health.MaxFails ||
		now.Sub(h.checked) > p.health.FailTimeout
}

// Healthy reports whether peer i has fewer than MaxFails failures: it is
// up, and no amount of time passing can take it down (only a Failure can).
func (p *Pool) Healthy(i int) bool {
	return p.health.MaxFails < 0 || p.Peers[i].fails < p.health.MaxFails
}

// Picked records that peer i was chosen at time now. Every algorithm calls
// it for the peer its Pick returns.
//
// As in nginx, a pick that comes more than FailTimeout after the peer was
// last checked starts a new check: a down peer whose timeout has passed is
// let through for this one request (a probe). If the probe fails, the peer
// is down for another FailTimeout; if it succeeds, its failures are
// forgotten.
func (p *Pool) Picked(i int, now time.Time) {
	h := &p.Peers[i]
	h.InFlight++
	p.inFlight++
	if now.Sub(h.checked) > p.health.FailTimeout {
		h.checked = now
	}
}

// Unpick undoes the in-flight count of a pick that was not used (a retry
// offered a backend it had tried already), and counts no outcome: a
// Report of Success would forgive the peer's failures when the pick was a
// probe, though no request reached it. A probe's new check stays begun:
// a down peer waits another FailTimeout for a real one.
func (p *Pool) Unpick(id string) {
	i, ok := p.index[id]
	if ok && p.Peers[i].InFlight > 0 {
		p.Peers[i].InFlight--
		p.inFlight--
	}
}

// Report records the outcome of a request to id and returns its position,
// or false for an id not in the pool (removed since it was picked).
func (p *Pool) Report(id string, o Outcome) (int, bool) {
	i, ok := p.index[id]
	if !ok {
		return 0, false
	}
	h := &p.Peers[i]
	if h.InFlight > 0 {
		h.InFlight--
		p.inFlight--
	}
	if p.health.MaxFails < 0 {
		return i, true
	}
	if o == Failure {
		now := p.now()
		h.fails++
		if h.fails == p.health.MaxFails {
			p.failing++
		}
		h.accessed, h.checked = now, now
		// nginx lowers the effective weight by weight/max_fails per
		// failure, so a failing peer gets less traffic even before it is
		// marked down; smooth weighted round robin raises it back by 1
		// per round.
		h.Effective = max(h.Effective-h.Weight/p.health.MaxFails, 0)
	} else if h.accessed.Before(h.checked) {
		// A success after a new check began (see Picked): the peer has
		// recovered.
		if !p.Healthy(i) {
			p.failing--
		}
		h.fails = 0
	}
	return i, true
}
