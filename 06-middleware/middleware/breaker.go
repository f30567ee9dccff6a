package middleware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// State is a circuit breaker's state.
type State int

const (
	Closed   State = iota // requests flow; consecutive failures are counted
	Open                  // requests fail fast, until the cooldown has passed
	HalfOpen              // one trial request is let through; the rest fail fast
)

func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// ErrOpen is the error of a request refused because its circuit is open.
var ErrOpen = errors.New("circuit open")

// BreakerConfig configures the breakers of a Breakers set.
type BreakerConfig struct {
	Failures int           // consecutive failures that open a circuit (0: DefaultBreakerFailures)
	Cooldown time.Duration // how long it stays open before a trial (0: DefaultBreakerCooldown)
	Now      func() time.Time
}

// The breaker's defaults, for a BreakerConfig that leaves a field 0.
const (
	DefaultBreakerFailures = 5
	DefaultBreakerCooldown = 10 * time.Second
)

// Breaker is one upstream's circuit breaker. When the upstream keeps
// failing, waiting for each request to time out on it costs the client its
// time and the gateway its connections; the breaker remembers instead:
//
//	closed ──Failures in a row──▶ open ──Cooldown──▶ half-open
//	  ▲                            ▲                   │
//	  └──────── trial succeeds ────┼───────────────────┤
//	                               └── trial fails ────┘
type Breaker struct {
	cfg BreakerConfig

	mu       sync.Mutex
	state    State
	failures int
	openedAt time.Time
	opened   uint64 // how many times the circuit has opened: a Ticket's period
}

// A Ticket is an allowed request's pass, handed back to Report. Besides
// whether the request is the half-open trial, it says when the request
// was let in: a request that outlived the closed period it began in (a
// slow one, failing after the circuit opened, or after it closed again)
// reports on an upstream that has since been judged, and is not counted.
type Ticket struct {
	probe  bool
	period uint64 // Breaker.opened when it was let in
}

// Probe reports whether the ticket is the half-open trial's.
func (t Ticket) Probe() bool { return t.probe }

// Allow asks to send a request. It returns ErrOpen (and how long until a
// trial) if the circuit is open or a trial is already in flight; the
// ticket is the half-open trial's (Probe) or one let in while closed.
// Every allowed request must be followed by one Report of its ticket.
func (b *Breaker) Allow() (t Ticket, retryIn time.Duration, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case Closed:
		return Ticket{period: b.opened}, 0, nil
	case Open:
		if wait := b.openedAt.Add(b.cfg.Cooldown).Sub(b.cfg.Now()); wait > 0 {
			return Ticket{}, wait, ErrOpen
		}
		b.state = HalfOpen
		return Ticket{probe: true}, 0, nil
	default: // HalfOpen: a trial is in flight
		return Ticket{}, b.cfg.Cooldown, ErrOpen
	}
}

// Report tells the breaker how the request of ticket t went.
func (b *Breaker) Report(t Ticket, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case t.probe && ok:
		b.state, b.failures = Closed, 0
	case t.probe:
		b.state, b.openedAt = Open, b.cfg.Now()
	case t.period != b.opened: // let in before the circuit last opened
	case ok:
		b.failures = 0
	default:
		b.failures++
		if b.failures >= b.cfg.Failures {
			b.state, b.openedAt = Open, b.cfg.Now()
			b.opened++
		}
	}
}

// forget drops an allowed request that proved nothing either way (its
// client went away): a trial's slot goes to the next request.
func (b *Breaker) forget(t Ticket) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.probe && b.state == HalfOpen {
		b.state, b.openedAt = Open, b.cfg.Now().Add(-b.cfg.Cooldown)
	}
}

// State returns the breaker's state.
func (b *Breaker) State() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

// Breakers holds a breaker per upstream, made on first use.
type Breakers struct {
	cfg BreakerConfig

	// Key names the upstream a request will go to, for Wrap. The default
	// is the request's Route (see Record), which suits a gateway whose
	// routes each have one upstream pool. Keys must come from a bounded
	// set: the set never forgets a breaker.
	Key func(*http.Request) string

	mu sync.Mutex
	m  map[string]*Breaker
}

// NewBreakers returns an empty set of breakers configured by cfg.
func NewBreakers(cfg BreakerConfig) *Breakers {
	if cfg.Failures <= 0 {
		cfg.Failures = DefaultBreakerFailures
	}
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = DefaultBreakerCooldown
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Breakers{cfg: cfg, m: map[string]*Breaker{}, Key: func(r *http.Request) string {
		return route(r, RecordFrom(r.Context()))
	}}
}

// For returns upstream's breaker.
func (bs *Breakers) For(upstream string) *Breaker {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b, ok := bs.m[upstream]
	if !ok {
		b = &Breaker{cfg: bs.cfg}
		bs.m[upstream] = b
	}
	return b
}

// Wrap is the middleware: while the circuit of the request's upstream is
// open it answers 503 Service Unavailable at once, with Retry-After;
// otherwise it passes the request on and counts a 5xx answer, a panic, or
// no answer by the request's deadline as a failure. A request its client
// cancelled counts for nothing: that is not the upstream's fault. Nor does
// one whose body could not be read (past MaxBody's limit, stalled past
// BodyTimeout's, cut mid-upload): httputil.ReverseProxy's own error
// handler answers it 502 (stage 03's answers 400, or 413 past a limit),
// but a client sending a few oversized uploads must not open the circuit
// for everyone.
func (bs *Breakers) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := bs.Key(r)
		b := bs.For(key)
		t, wait, err := b.Allow()
		if err != nil {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			http.Error(w, fmt.Sprintf("service unavailable: %s is failing, so the gateway is not sending it requests for now (%v)", key, err), http.StatusServiceUnavailable)
			return
		}
		var body *watchedBody
		if r.Body != nil && r.Body != http.NoBody {
			body = &watchedBody{ReadCloser: r.Body}
			r2 := *r
			r2.Body = body
			r = &r2
		}
		var sw *statusWriter
		if c, ok := recordContextOf(r.Context()); ok {
			sw = c.statusFor(w)
		} else {
			sw = statusOf(w)
		}
		returned := false
		defer func() {
			if errors.Is(r.Context().Err(), context.Canceled) || body != nil && body.failed.Load() {
				b.forget(t)
				return
			}
			// A handler that gave up at its deadline without a word
			// (Timeout, further out, answers 504 for it) failed as surely
			// as one that answered 504; sw reports 200 for it, as for
			// any handler that wrote nothing.
			gaveUp := !sw.headerSent() && errors.Is(r.Context().Err(), context.DeadlineExceeded)
			b.Report(t, returned && sw.Status() < 500 && !gaveUp)
		}()
		next.ServeHTTP(sw, r)
		returned = true
	})
}

// Transport wraps an upstream transport with a breaker per upstream host
// (req.URL.Host): a proxy whose balancer picks among several upstreams
// gets a circuit for each. When one is open, RoundTrip fails fast with an
// error that wraps ErrOpen; the proxy's ErrorHandler should answer 503.
// As for Wrap, a request whose client cancelled it, or whose body could
// not be read, counts for nothing.
func (bs *Breakers) Transport(next http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		b := bs.For(req.URL.Host)
		t, _, err := b.Allow()
		if err != nil {
			return nil, fmt.Errorf("upstream %s: %w", req.URL.Host, err)
		}
		var body *watchedBody
		if req.Body != nil && req.Body != http.NoBody {
			body = &watchedBody{ReadCloser: req.Body}
			r2 := *req // a RoundTripper must not change the request
			r2.Body = body
			req = &r2
		}
		resp, err := next.RoundTrip(req)
		switch {
		case errors.Is(req.Context().Err(), context.Canceled), body != nil && body.failed.Load():
			b.forget(t)
		default:
			b.Report(t, err == nil && resp.StatusCode < 500)
		}
		return resp, err
	})
}

// watchedBody is a request body that remembers a Read that failed: the
// client's fault, not the upstream's.
type watchedBody struct {
	io.ReadCloser
	failed atomic.Bool // written by whoever reads the body (a transport), read by the handler
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.failed.Store(true)
	}
	return n, err
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
