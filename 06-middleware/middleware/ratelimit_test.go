package middleware_test

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"golang.org/x/time/rate"

	"github.com/gocourse/gateway/06-middleware/middleware"
)

func from(ip string) *http.Request {
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = ip + ":40000"
	return req
}

func TestRateLimitFloodFromOneClient(t *testing.T) {
	clk := newClock()
	l := middleware.NewRateLimiter(middleware.RateLimit{Rate: 1, Burst: 3, Now: clk.Now})
	h := l.Wrap(&ok{})

	var codes []int
	for range 5 {
		codes = append(codes, do(h, from("10.0.0.1")).Code)
	}
	if diff := cmp.Diff([]int{200, 200, 200, 429, 429}, codes); diff != "" {
		t.Errorf("the flooding client (-want +got):\n%s", diff)
	}
	rec := do(h, from("10.0.0.1"))
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	assert.Equal(t, "too many requests: slow down, retry after 1 s\n", rec.Body.String())

	assert.Equal(t, 200, do(h, from("10.0.0.2")).Code, "another client is unaffected")

	clk.Advance(time.Second)
	assert.Equal(t, 200, do(h, from("10.0.0.1")).Code, "a token came back after a second")
	assert.Equal(t, 429, do(h, from("10.0.0.1")).Code)
}

func TestRateLimitRetryAfterRoundsUp(t *testing.T) {
	clk := newClock()
	l := middleware.NewRateLimiter(middleware.RateLimit{Rate: 0.25, Burst: 1, Now: clk.Now})
	l.Allow("a")
	clk.Advance(1500 * time.Millisecond) // 0.375 of a token back: 2.5 s to go
	allowed, wait := l.Allow("a")
	assert.False(t, allowed)
	assert.Equal(t, 2500*time.Millisecond, wait)
	assert.Equal(t, "3", do(l.Wrap(&ok{}), from("a")).Header().Get("Retry-After"), "2.5 s rounds up, never down")
}

// TestRateLimitNoRefillRetryAfterIsKept: with no refill (Rate 0) the
// bucket is full again only once the client is forgotten, Idle after its
// last request, and that is the wait Retry-After gives: a client that
// waits exactly that long gets in.
func TestRateLimitNoRefillRetryAfterIsKept(t *testing.T) {
	clk := newClock()
	l := middleware.NewRateLimiter(middleware.RateLimit{Rate: 0, Burst: 1, Idle: 10 * time.Second, Now: clk.Now})
	allowed, _ := l.Allow("a")
	assert.True(t, allowed)
	allowed, wait := l.Allow("a")
	assert.False(t, allowed)
	assert.Equal(t, 10*time.Second, wait)
	clk.Advance(wait)
	allowed, _ = l.Allow("a")
	assert.True(t, allowed, "waited as long as it was told to")
}

// TestRateLimitUsesTheInjectedClockBehindARecord: behind a layer that
// added a Record, the limiter reuses the Record's start time only when
// its clock is the real one; an injected clock is always read, or a test
// (or a simulation) advancing it would see no refill.
func TestRateLimitUsesTheInjectedClockBehindARecord(t *testing.T) {
	clk := newClock()
	l := middleware.NewRateLimiter(middleware.RateLimit{Rate: 1, Burst: 1, Now: clk.Now})
	h := middleware.RequestID(nil)(l.Wrap(&ok{}))
	assert.Equal(t, 200, do(h, from("10.0.0.1")).Code)
	assert.Equal(t, 429, do(h, from("10.0.0.1")).Code)
	clk.Advance(time.Second)
	assert.Equal(t, 200, do(h, from("10.0.0.1")).Code, "a token came back on the injected clock")
}

func TestRateLimitTableIsBounded(t *testing.T) {
	clk := newClock()
	l := middleware.NewRateLimiter(middleware.RateLimit{Rate: 0, Burst: 1, MaxClients: 3, Now: clk.Now})
	for i := range 5 {
		allowed, _ := l.Allow(fmt.Sprint("client", i))
		assert.True(t, allowed)
	}
	assert.Equal(t, 3, l.Len())
	allowed, _ := l.Allow("client4")
	assert.False(t, allowed, "client4 is still in the table, with an empty bucket")
	allowed, _ = l.Allow("client0")
	assert.True(t, allowed, "client0 was the least recently seen, so it was forgotten (and comes back with a full bucket)")
}

func TestRateLimitForgetsIdleClients(t *testing.T) {
	clk := newClock()
	l := middleware.NewRateLimiter(middleware.RateLimit{Rate: 1, Burst: 1, Idle: time.Minute, Now: clk.Now})
	for i := range 100 {
		l.Allow(fmt.Sprint("client", i))
	}
	assert.Equal(t, 100, l.Len())
	clk.Advance(time.Minute + time.Second)
	l.Allow("newcomer")
	assert.Equal(t, 1, l.Len(), "the idle clients are gone")
}

func TestClientIPKeysIPv6ByItsSlash64(t *testing.T) {
	for ip, want := range map[string]string{
		"192.0.2.7":                          "192.0.2.7",
		"[2001:db8:1:2::1]":                  "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff:ffff:ffff:ffff]": "2001:db8:1:2::/64",
		"[2001:db8:1:3::1]":                  "2001:db8:1:3::/64",
		"[fe80::1%eth0]":                     "fe80::/64",
		"[::ffff:192.0.2.7]":                 "192.0.2.7",
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = ip + ":40000"
		assert.Equal(t, want, middleware.ClientIP(req), ip)
	}

	// 1,000 addresses of one /64 share one bucket; the next /64 has its own.
	l := middleware.NewRateLimiter(middleware.RateLimit{Rate: 0, Burst: 3, Now: newClock().Now})
	h := l.Wrap(&ok{})
	passed := 0
	for i := range 1000 {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = fmt.Sprintf("[2001:db8:1:2::%x]:40000", i+1)
		if do(h, req).Code == http.StatusOK {
			passed++
		}
	}
	assert.Equal(t, 3, passed, "one /64 is one client")
	assert.Equal(t, 1, l.Len())
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "[2001:db8:1:3::1]:40000"
	assert.Equal(t, http.StatusOK, do(h, req).Code)
}

func TestClientIPIgnoresForwardedFor(t *testing.T) {
	req := from("192.0.2.7")
	req.Header.Set("X-Forwarded-For", "198.51.100.1")
	assert.Equal(t, "192.0.2.7", middleware.ClientIP(req))
}

// TestRateLimitConcurrent floods from one client and from another at the
// same time: with no refill, exactly Burst requests of each get through.
func TestRateLimitConcurrent(t *testing.T) {
	const burst, requests = 50, 200
	l := middleware.NewRateLimiter(middleware.RateLimit{Rate: rate.Limit(0), Burst: burst, Now: newClock().Now})
	h := l.Wrap(&ok{})
	var mu sync.Mutex
	passed := map[string]int{}
	var wg sync.WaitGroup
	for i := range 2 * requests {
		wg.Go(func() {
			ip := fmt.Sprint("10.0.0.", i%2)
			if do(h, from(ip)).Code == 200 {
				mu.Lock()
				passed[ip]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if diff := cmp.Diff(map[string]int{"10.0.0.0": burst, "10.0.0.1": burst}, passed); diff != "" {
		t.Errorf("requests let through per client (-want +got):\n%s", diff)
	}
}

// TestClientOrIPKeysAnAuthenticatedClientByName: behind Auth, two clients
// sending from one address get a bucket each, and a client's name cannot
// be taken for an address; without a client (no Auth, or no Record at
// all), the key is the address.
func TestClientOrIPKeysAnAuthenticatedClientByName(t *testing.T) {
	key := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, middleware.ClientOrIP(r))
	})
	req := from("192.0.2.7")
	req.Header.Set(middleware.HeaderAPIKey, "admin-key")
	assert.Equal(t, "client:admin", do(newAuth(t, newClock().Now).Wrap(key), req).Body.String())
	assert.Equal(t, "192.0.2.7", do(middleware.RequestID(nil)(key), from("192.0.2.7")).Body.String(), "a Record without a client")
	assert.Equal(t, "192.0.2.7", do(key, from("192.0.2.7")).Body.String(), "no Record")
}

func TestClientIPOfAnAddressThatIsNoIPPort(t *testing.T) {
	for addr, want := range map[string]string{
		"pipe":           "pipe",      // no port: the address whole
		"localhost:8080": "localhost", // not an IP address: the host
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = addr
		assert.Equal(t, want, middleware.ClientIP(req), addr)
	}
}

// TestRateLimitForgettingAnIdleClientGivesItNothing: a client is kept at
// least until its bucket would be full again, whatever Idle says. With one
// token a minute and a burst of 10, a client that spends its burst and
// waits out a one-minute Idle has earned one token, not a fresh bucket of
// ten: forgetting it sooner would multiply the rate it may sustain.
func TestRateLimitForgettingAnIdleClientGivesItNothing(t *testing.T) {
	clk := newClock()
	l := middleware.NewRateLimiter(middleware.RateLimit{Rate: rate.Every(time.Minute), Burst: 10, Idle: time.Minute, Now: clk.Now})
	passed := func() int {
		n := 0
		for range 10 {
			if allowed, _ := l.Allow("a"); allowed {
				n++
			}
		}
		return n
	}
	assert.Equal(t, 10, passed(), "the burst")
	clk.Advance(time.Minute + time.Second)
	assert.Equal(t, 1, passed(), "a minute later, one token came back")
	clk.Advance(10 * time.Minute)
	assert.Equal(t, 10, passed(), "ten minutes later, the bucket is full again")
	clk.Advance(10 * time.Minute)
	l.Allow("b")
	assert.Equal(t, 1, l.Len(), "a client whose bucket is full is forgotten")

	// A bucket that takes longer to fill than a Duration can hold.
	l = middleware.NewRateLimiter(middleware.RateLimit{Rate: 1e-12, Burst: 1, Idle: time.Minute, Now: clk.Now})
	l.Allow("a")
	clk.Advance(100 * 365 * 24 * time.Hour)
	allowed, wait := l.Allow("a")
	assert.False(t, allowed, "a century later, its one token has not come back")
	assert.Equal(t, time.Duration(math.MaxInt64), wait, "a wait longer than a Duration holds is the longest one, not negative")
	assert.Equal(t, "9223372037", do(l.Wrap(&ok{}), from("a")).Header().Get("Retry-After"))
}

// TestRateLimitWaitIsLongEnough: Allow's wait is how long until there is
// a token, rounded up to the nanosecond and never down. At one token in
// 10 s, a millisecond after the last one went, the wait is 9.999 s; the
// floating-point sum leaves it a hair short of that, and cut down to
// whole nanoseconds it became 9.998999999 s, after which the bucket is
// still short. A third of a second, which no whole number of nanoseconds
// is, rounds up too.
func TestRateLimitWaitIsLongEnough(t *testing.T) {
	clk := newClock()
	l := middleware.NewRateLimiter(middleware.RateLimit{Rate: 0.1, Burst: 1, Now: clk.Now})
	l.Allow("a")
	clk.Advance(time.Millisecond)
	allowed, wait := l.Allow("a")
	assert.False(t, allowed)
	assert.Equal(t, 9999*time.Millisecond, wait)
	clk.Advance(wait)
	allowed, _ = l.Allow("a")
	assert.True(t, allowed, "waited as long as it was told to")

	l = middleware.NewRateLimiter(middleware.RateLimit{Rate: 3, Burst: 1, Now: clk.Now})
	l.Allow("a")
	_, wait = l.Allow("a")
	assert.Equal(t, 333333334*time.Nanosecond, wait)
}

// TestRateLimitClockGoingBackGivesNothing: a time earlier than the last
// one a client was seen at counts as that last one. rate.Limiter, handed
// an earlier time, moves its own clock back to it when it grants a token,
// and counts the same span again at the next request: with a burst of 2
// and a clock that steps back a second and forward again, three requests
// passed at one instant. Behind a Record the time is when the request
// came in, and a client's concurrent requests reach the limiter in either
// order, so this happens without any clock going back.
func TestRateLimitClockGoingBackGivesNothing(t *testing.T) {
	clk := newClock()
	l := middleware.NewRateLimiter(middleware.RateLimit{Rate: 1, Burst: 2, Now: clk.Now})
	var passed []bool
	allow := func() {
		allowed, _ := l.Allow("a")
		passed = append(passed, allowed)
	}
	allow()
	clk.Advance(-time.Second)
	allow()
	clk.Advance(time.Second)
	allow()
	assert.Equal(t, []bool{true, true, false}, passed, "a burst of 2 at one instant")
}
