package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/onion"
)

func TestMiddlewareFromConfig(t *testing.T) {
	srvs := backends(t, 1)
	// Passive health is off: /slow's timeout is a failure of the pool's
	// only backend (TestRouteTimeoutCountsAgainstTheBackend), which would
	// take it out for the /failing requests that follow.
	g, gw, _ := start(t, fill(`
pools:
  p: {targets: ["${A}"], passive: {max_fails: 0}}
routes:
  - path: /private
    pool: p
    strip_prefix: true
    middleware:
      - request-id
      - metrics
      - name: auth
        api_keys: [{id: ann, key: k1}]
  - path: /limited
    pool: p
    strip_prefix: true
    middleware:
      - {name: rate-limit, rate: 0.001, burst: 2}
  - path: /slow
    pool: p
    strip_prefix: true
    middleware:
      - {name: timeout, after: 50ms}
  - path: /failing
    pool: p
    strip_prefix: true
    middleware:
      - {name: breaker, failures: 2, cooldown: 1h}
`, srvs))

	code, _ := get(t, gw.URL+"/private/")
	assert.Equal(t, http.StatusUnauthorized, code, "auth: no key")
	req, err := http.NewRequest("GET", gw.URL+"/private/", nil)
	require.NoError(t, err)
	req.Header.Set("X-Api-Key", "k1")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode, "auth: the right key")
	assert.Len(t, resp.Header.Get("X-Request-Id"), 32, "request-id")

	admin := httptest.NewServer(g.Admin())
	defer admin.Close()
	// The metrics layer counts a request when its handler returns, which
	// may come just after the client has read the whole answer: wait for
	// the count (bounded), rather than race it.
	want := `gateway_requests_total{class="2xx",route="/private",upstream="` + srvs[0].Listener.Addr().String() + `"} 1`
	var scraped string
	if !assert.Eventually(t, func() bool { scraped = metrics(t, admin.URL); return strings.Contains(scraped, want) }, 10*time.Second, time.Millisecond) {
		assert.Contains(t, scraped, want, "metrics: labelled with the route's name and the backend the pool picked")
	}

	var codes []int
	for range 3 {
		code, _ := get(t, gw.URL+"/limited/")
		codes = append(codes, code)
	}
	assert.Equal(t, []int{200, 200, http.StatusTooManyRequests}, codes, "rate-limit: a burst of 2")

	code, body := get(t, gw.URL+"/slow/delay/10s")
	assert.Equal(t, http.StatusGatewayTimeout, code, body)

	codes = nil
	for range 3 {
		code, _ := get(t, gw.URL+"/failing/status/500")
		codes = append(codes, code)
	}
	assert.Equal(t, []int{500, 500, http.StatusServiceUnavailable}, codes, "breaker: open after 2 failures")
	code, _ = get(t, gw.URL+"/failing/")
	assert.Equal(t, http.StatusServiceUnavailable, code,
		"breaker: one circuit for the whole route: a backend's own 500s for one path close every path of it")
}

// The chain of each route is built when the configuration is loaded, and
// never per request; a reload builds only the routes it changed (or
// whose pool it changed).
func TestChainIsBuiltOncePerRouteAndLoad(t *testing.T) {
	srvs := backends(t, 1)
	var builds, runs atomic.Int32
	reg := DefaultRegistry()
	Register(reg, "count", struct{}{}, func(*struct{}, Env) (onion.Middleware, error) {
		builds.Add(1)
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				runs.Add(1)
				next.ServeHTTP(w, r)
			})
		}, nil
	})
	src := &fakeSource{text: fill(`
pools: {p: {targets: ["${A}"]}}
routes:
  - {path: /a, pool: p, strip_prefix: true, middleware: [count]}
  - {path: /b, pool: p, strip_prefix: true, middleware: [count, count]}
`, srvs)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := New(ctx, src.read, Options{Registry: reg, ManualChecks: true, Logger: discardLogger()})
	require.NoError(t, err)
	defer g.Close()
	assert.EqualValues(t, 3, builds.Load())
	for range 10 {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest("GET", "/b/", nil))
		require.Equal(t, 200, rec.Code)
	}
	assert.EqualValues(t, 20, runs.Load(), "each request passes both layers of /b")
	assert.EqualValues(t, 3, builds.Load(), "and builds nothing")
	src.set("# every route a line lower\n" + src.text)
	require.NoError(t, g.Reload())
	assert.EqualValues(t, 3, builds.Load(), "a reload that changes no route builds nothing: its layers, and what they know, stay")
	a, b := "  - {path: /a, pool: p, strip_prefix: true, middleware: [count]}\n", "  - {path: /b, pool: p, strip_prefix: true, middleware: [count, count]}\n"
	src.set(strings.Replace(src.text, a+b, b+a, 1))
	require.NoError(t, g.Reload())
	require.Equal(t, "/b", g.Config().Routes[0].Path, "the routes swapped places")
	assert.EqualValues(t, 3, builds.Load(), "routes that swapped places in the file are the same routes: nothing is built")
	src.set(strings.Replace(src.text, "[count, count]", "[count, count, count]", 1))
	require.NoError(t, g.Reload())
	assert.EqualValues(t, 6, builds.Load(), "a changed route is built again, once")
	src.set(strings.Replace(src.text, `{p: {targets`, `{p: {retry: {tries: 2}, targets`, 1))
	require.NoError(t, g.Reload())
	assert.EqualValues(t, 10, builds.Load(), "a changed pool rebuilds every route on it")
}

// A route's rate-limit keys clients as part 1's RateLimiter does: an IPv4
// address whole, an IPv6 address by its /64. With the balancers' "ip" key
// (the full address) a host with a /64 of its own would get a fresh
// bucket for each of its 2^64 addresses.
func TestRateLimitFromConfigKeysIPv6ByItsSlash64(t *testing.T) {
	srvs := backends(t, 1)
	g, _, _ := start(t, fill(`
pools:
  p: {targets: ["${A}"]}
routes:
  - path: /
    pool: p
    middleware:
      - {name: rate-limit, rate: 0.001, burst: 2}
`, srvs))
	serve := func(remote string) int {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		return rec.Code
	}
	var codes []int
	for _, remote := range []string{
		"[2001:db8:1:2::1]:40000", "[2001:db8:1:2::2]:40001", "[2001:db8:1:2:aaaa::3]:40002", // one /64
		"[2001:db8:1:3::1]:40003",            // the next /64: a client of its own
		"192.0.2.1:40004", "192.0.2.2:40005", // IPv4: by address
	} {
		codes = append(codes, serve(remote))
	}
	want := []int{200, 200, http.StatusTooManyRequests, 200, 200, 200}
	assert.Equal(t, want, codes, "three addresses of one /64 share a bucket of 2; another /64 and each IPv4 address have their own")
}
