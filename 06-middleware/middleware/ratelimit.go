package middleware

import (
	"container/list"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit configures a RateLimiter.
type RateLimit struct {
	Rate  rate.Limit // requests per second a client may sustain
	Burst int        // requests a client may send at once (at least 1)

	// MaxClients bounds the table of clients (0: DefaultRateLimitClients):
	// past it, the client seen least recently is forgotten. Idle is how
	// long a client stays in the table after its last request (0:
	// DefaultRateLimitIdle), and never less than its bucket takes to fill
	// up (Burst/Rate): forgotten sooner, it would come back with tokens it
	// had not yet earned.
	MaxClients int
	Idle       time.Duration

	// Key names the client of a request (default ClientIP).
	Key func(*http.Request) string
	// Now is the clock (default time.Now); tests pass a fake one.
	Now func() time.Time
}

// The rate limiter's defaults, for a RateLimit that leaves a field 0.
const (
	DefaultRateLimitClients = 10000
	DefaultRateLimitIdle    = 10 * time.Minute
)

// RateLimiter gives each client a token bucket (golang.org/x/time/rate)
// and answers 429 Too Many Requests, with a Retry-After header, to a
// client whose bucket is empty. One client's flood costs the others
// nothing.
//
// Its table of clients is bounded twice: clients idle for longer than
// Idle are forgotten (every request first drops all the idle ones, from
// the back of the table: after a quiet spell that can be the whole table
// at once, but each client is dropped once, so the cost per request is
// constant on average), and past MaxClients the least recently seen is
// forgotten. A forgotten client
// comes back with a full bucket; that is the price of bounded memory.
type RateLimiter struct {
	cfg       RateLimit
	realClock bool // cfg.Now is time.Now: a request's Record has read it already

	mu      sync.Mutex
	clients map[string]*list.Element // of *client
	lru     list.List                // most recently seen first
}

type client struct {
	key      string
	limiter  *rate.Limiter
	lastSeen time.Time
}

// NewRateLimiter returns a limiter for cfg, with the defaults filled in.
func NewRateLimiter(cfg RateLimit) *RateLimiter {
	if cfg.Burst < 1 {
		cfg.Burst = 1
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = DefaultRateLimitClients
	}
	if cfg.Idle <= 0 {
		cfg.Idle = DefaultRateLimitIdle
	}
	if cfg.Rate > 0 && cfg.Rate != rate.Inf {
		fill := time.Duration(math.MaxInt64) // past it, centuries: forgotten only past MaxClients
		if ns := math.Ceil(float64(cfg.Burst) / float64(cfg.Rate) * float64(time.Second)); ns < float64(fill) {
			fill = time.Duration(ns)
		}
		cfg.Idle = max(cfg.Idle, fill)
	}
	if cfg.Key == nil {
		cfg.Key = ClientIP
	}
	realClock := cfg.Now == nil
	if realClock {
		cfg.Now = time.Now
	}
	return &RateLimiter{cfg: cfg, realClock: realClock, clients: make(map[string]*list.Element)}
}

// Wrap is the middleware: 429 for a client over its rate, else next.
func (l *RateLimiter) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Time{}
		if c, ok := recordContextOf(r.Context()); ok && l.realClock {
			now = c.start // read when the request came in: no need to read the clock again
		} else {
			now = l.cfg.Now()
		}
		ok, wait := l.allowAt(l.cfg.Key(r), now)
		if !ok {
			// int64, not int: the longest wait is 9223372037 s, which
			// an int of 32 bits (GOARCH=386, arm) turns negative.
			secs := int64(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
			http.Error(w, fmt.Sprintf("too many requests: slow down, retry after %d s", secs), http.StatusTooManyRequests)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Allow takes a token from key's bucket. If there is none it returns
// false and how long until there is one.
func (l *RateLimiter) Allow(key string) (bool, time.Duration) {
	return l.allowAt(key, l.cfg.Now())
}

func (l *RateLimiter) allowAt(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evictIdle(now)

	var c *client
	if e, ok := l.clients[key]; ok {
		c = e.Value.(*client)
		l.lru.MoveToFront(e)
	} else {
		if len(l.clients) >= l.cfg.MaxClients {
			l.remove(l.lru.Back())
		}
		c = &client{key: key, limiter: rate.NewLimiter(l.cfg.Rate, l.cfg.Burst)}
		l.clients[key] = l.lru.PushFront(c)
	}
	// The bucket's clock never goes back. Behind a Record, now is when
	// the request came in, and two requests of one client reach the lock
	// in either order; an injected clock may step back. Given an earlier
	// time, rate.Limiter moves its own back to it once it grants a token,
	// and credits the span again at the next request: a token for free.
	if now.Before(c.lastSeen) {
		now = c.lastSeen
	}
	c.lastSeen = now
	if c.limiter.AllowN(now, 1) {
		return true, 0
	}
	if l.cfg.Rate <= 0 { // no refill: the bucket is full again once the client is forgotten
		return false, l.cfg.Idle
	}
	// Rounded up: cut down to whole nanoseconds, the wait can end a hair
	// before the token is whole, and the bucket is still short. A wait
	// longer than a Duration holds (a token in more than 292 years) is
	// the longest one: converted as it is, it comes out negative.
	missing := 1 - c.limiter.TokensAt(now)
	ns := math.Ceil(missing / float64(l.cfg.Rate) * float64(time.Second))
	if ns >= math.MaxInt64 {
		return false, math.MaxInt64
	}
	return false, time.Duration(ns)
}

// evictIdle forgets clients unseen for Idle: they are at the back.
func (l *RateLimiter) evictIdle(now time.Time) {
	for e := l.lru.Back(); e != nil && now.Sub(e.Value.(*client).lastSeen) >= l.cfg.Idle; e = l.lru.Back() {
		l.remove(e)
	}
}

func (l *RateLimiter) remove(e *list.Element) {
	delete(l.clients, e.Value.(*client).key)
	l.lru.Remove(e)
}

// Len is the number of clients in the table.
func (l *RateLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// ClientIP is the default client key: the address the connection comes
// from, an IPv4 address whole and an IPv6 address by its /64 network
// ("2001:db8:1:2::/64"). One IPv6 host commonly gets a /64 of its own
// and can pick any of its 2^64 addresses: keyed by the full address, it
// would get a fresh bucket for every request it sends from a new one.
// ClientIP ignores X-Forwarded-For, which any client can write: trust that
// header only behind a proxy of your own, with a Key that reads it.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	switch {
	case err != nil:
		return host
	case addr.Is4():
		return host // no allocation on the common path
	case addr.Is4In6():
		return addr.Unmap().String()
	}
	return netip.PrefixFrom(addr.WithZone(""), 64).Masked().String()
}

// ClientOrIP keys by the authenticated client (the Record's Client) and
// falls back to the IP address: for a RateLimiter placed after Auth.
func ClientOrIP(r *http.Request) string {
	if rec := RecordFrom(r.Context()); rec != nil && rec.Client != "" {
		return "client:" + rec.Client
	}
	return ClientIP(r)
}
