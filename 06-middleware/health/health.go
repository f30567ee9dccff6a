// Package health checks backends actively, as HAProxy does: every
// interval it asks each backend for a path, and counts the answers. A
// backend that is up goes down after Fall failed checks in a row; one that
// is down comes back after Rise passed checks in a row. Counting streaks,
// instead of believing each check, keeps one lost packet from taking a
// healthy backend out, and one lucky answer from putting a sick one back.
//
// Active checks see a backend that is down before any client is sent to
// it, and see it come back while no client is; passive tracking (the
// balancer's max_fails) sees what checks miss, a backend that answers
// /health but fails real requests. The gateway uses both.
//
// Nothing here sleeps or reads the wall clock by itself: CheckNow runs one
// round, Run runs a round on each tick of a channel the caller owns, and
// the clock is an option, so tests drive checks one round at a time.
package health

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Options configure a Checker.
type Options struct {
	Path    string        // what to ask for, such as /health
	Timeout time.Duration // per check
	Status  int           // the status of a passed check
	Rise    int           // passed checks in a row that bring a backend up
	Fall    int           // failed checks in a row that take it down

	// Client sends the checks; nil means one with its own Transport, so
	// that checks do not wait behind client requests for a connection,
	// and which opens a new connection for every check (see New).
	Client *http.Client
	// Now is the clock of State.Since; nil means time.Now.
	Now func() time.Time
	// OnChange, if set, is called when a backend goes up or down, with
	// its State after the change (Last says the check that decided it),
	// and with the Checker's lock held: it sees changes one at a time and
	// in order, and must not call the Checker.
	OnChange func(State)
}

// State is what the checker knows about one backend.
type State struct {
	Target string    `json:"target"`
	Up     bool      `json:"up"`
	Streak int       `json:"streak"`         // checks in a row that contradict Up (Fall take it down, Rise bring it up)
	Since  time.Time `json:"since,omitzero"` // when Up last changed (or the checker started)
	Last   string    `json:"last,omitempty"` // the last check's result: "ok", or why it failed
	Checks int       `json:"checks"`         // checks run
}

// Checker checks a fixed set of backends. It is safe for concurrent use.
type Checker struct {
	opts    Options
	targets []string // base URLs, such as http://127.0.0.1:9001

	mu    sync.Mutex
	state map[string]*State
}

// New returns a checker for targets, every one of them up: a gateway that
// starts serves at once, and a backend that is down is found at its first
// check (HAProxy's init-state up, its default); once a backend has been
// checked, it takes Fall failed checks in a row to take it down.
func New(targets []string, opts Options) *Checker {
	// A check on a kept-alive connection proves only that the backend
	// still answers on a connection it accepted long ago: one whose
	// listener is gone, or that no longer accepts (out of file
	// descriptors, a full accept queue), would pass while every new
	// connection the proxy dials fails. So each check dials afresh.
	if opts.Client == nil {
		opts.Client = &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	}
	// A check judges the backend's own answer: following a redirect would
	// judge another page (a 302 to a login page that answers 200 would
	// pass), and a Status of 302 could never be met.
	client := *opts.Client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	opts.Client = &client
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Rise, opts.Fall = max(opts.Rise, 1), max(opts.Fall, 1)
	c := &Checker{opts: opts, targets: slices.Clone(targets), state: map[string]*State{}}
	now := opts.Now()
	for _, t := range targets {
		c.state[t] = &State{Target: t, Up: true, Since: now}
	}
	return c
}

// Adopt copies from old the state of every backend both checkers check,
// so that a reloaded configuration keeps what is known: a backend that was
// down stays down until it passes Rise checks. It returns the backends
// adopted as down; OnChange is not called for them.
//
// Only the same check's results carry over: what old found asking
// another path, for another status or within another timeout answers
// another question. An operator who fixes a wrong health path would
// otherwise see every backend it took out stay out for Rise more checks.
func (c *Checker) Adopt(old *Checker) (down []string) {
	if !c.SameCheck(old) {
		return nil
	}
	old.mu.Lock()
	defer old.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	for t, s := range c.state {
		if prev, ok := old.state[t]; ok {
			*s = *prev
			if !s.Up {
				down = append(down, t)
			}
		}
	}
	slices.Sort(down)
	return down
}

// SameCheck reports whether old asks what c asks: the same path, for the
// same status, within the same timeout. Only then does Adopt carry old's
// results over.
func (c *Checker) SameCheck(old *Checker) bool {
	return old.opts.Path == c.opts.Path && old.opts.Status == c.opts.Status && old.opts.Timeout == c.opts.Timeout
}

// Up reports whether target is up. A target the checker does not know is
// not.
func (c *Checker) Up(target string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.state[target]
	return ok && s.Up
}

// States returns the state of every backend, in the order given to New.
func (c *Checker) States() []State {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]State, len(c.targets))
	for i, t := range c.targets {
		out[i] = *c.state[t]
	}
	return out
}

// CheckNow checks every backend once, concurrently, and returns when all
// checks are done and counted.
func (c *Checker) CheckNow(ctx context.Context) {
	var wg sync.WaitGroup
	for _, t := range c.targets {
		wg.Go(func() {
			err := c.check(ctx, t)
			if ctx.Err() == nil { // a check cut short by shutdown proves nothing
				c.record(t, err)
			}
		})
	}
	wg.Wait()
}

// Close closes the idle connections of the checker's own client. Call it
// once the checker is no longer used.
func (c *Checker) Close() { c.opts.Client.CloseIdleConnections() }

// Run calls CheckNow on every tick, until ctx is done. A tick is taken
// only once the round before it is over.
func (c *Checker) Run(ctx context.Context, ticks <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			c.CheckNow(ctx)
		}
	}
}

// check asks target for the health path and returns nil if it answered
// the expected status within the timeout.
func (c *Checker) check(ctx context.Context, target string) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target+c.opts.Path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "gateway-health-check")
	resp, err := c.opts.Client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != c.opts.Status {
		return fmt.Errorf("status %d, want %d", resp.StatusCode, c.opts.Status)
	}
	return nil
}

// record counts one check's result and moves the backend up or down when
// its streak is long enough.
func (c *Checker) record(target string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.state[target]
	s.Checks++
	passed := err == nil
	if passed {
		s.Last = "ok"
	} else {
		s.Last = err.Error()
	}
	// Streak counts checks in a row that disagree with the current state
	// while it is being questioned, and agree with it otherwise.
	if passed == s.Up {
		s.Streak = 0
		return
	}
	s.Streak++
	need := c.opts.Fall
	switch {
	case passed:
		need = c.opts.Rise
	case s.Checks == 1:
		// A backend never checked before (new, not adopted) starts up, and
		// its first failed check takes it down at once: HAProxy's default
		// (init-state up). Fall counts only against a backend seen healthy.
		need = 1
	}
	if s.Streak >= need {
		s.Up, s.Streak, s.Since = passed, 0, c.opts.Now()
		if c.opts.OnChange != nil {
			c.opts.OnChange(*s)
		}
	}
}
