package middleware_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/06-middleware/onion"
)

// gateway is a full default stack around a handler that can panic, in
// both onions.
type gateway struct {
	mu      sync.Mutex
	checked time.Time // when a check (the rate limit's key, auth's clock) last ran
	logs    logBuffer
	reg     *prometheus.Registry
	chained http.Handler
	sliced  http.Handler
	stack   middleware.Stack
}

func newGateway(t *testing.T, burst int) *gateway {
	t.Helper()
	g := &gateway{reg: prometheus.NewRegistry()}
	check := func() time.Time {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.checked = time.Now()
		return g.checked
	}
	auth, err := middleware.NewAuth(middleware.AuthConfig{
		APIKeys: []middleware.Credential{{ID: "alice", Secret: "alice-key", Allow: []string{"/api"}}},
		HMAC:    []middleware.Credential{{ID: "bob", Secret: "bob-secret", Allow: []string{"/api"}}},
		Now:     check, // read while auth checks a signature
	})
	require.NoError(t, err)
	breakers := middleware.NewBreakers(middleware.BreakerConfig{Failures: 1, Cooldown: time.Hour})
	breakers.Key = func(r *http.Request) string { return r.URL.Path } // a bounded set, here
	g.stack = middleware.Default(middleware.Options{
		Logger:  g.logs.Logger(),
		Metrics: middleware.NewMetrics(g.reg),
		CORS:    &middleware.CORSConfig{Origins: []string{"https://app.example"}, Headers: []string{"X-Api-Key"}},
		RateLimiter: middleware.NewRateLimiter(middleware.RateLimit{Rate: 0, Burst: burst, Key: func(r *http.Request) string {
			check()
			if r.URL.Path == "/api/layer-panic" {
				panic("a bug in a layer")
			}
			return middleware.ClientIP(r)
		}}),
		MaxBody:  1 << 10,
		Auth:     auth,
		Timeout:  time.Minute,
		Breakers: breakers,
	})
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/panic":
			panic("bug")
		case "/api/deadline": // did the deadline start after the checks?
			deadline, _ := r.Context().Deadline()
			g.mu.Lock()
			defer g.mu.Unlock()
			fmt.Fprint(w, !deadline.Add(-time.Minute).Before(g.checked))
			return
		case "/api/down": // an upstream that fails
			w.WriteHeader(http.StatusBadGateway)
			return
		case "/api/abort": // a proxy whose upstream died mid-body
			middleware.SetUpstream(r, "A")
			io.WriteString(w, "half a")
			panic(http.ErrAbortHandler)
		}
		middleware.SetUpstream(r, "A")
		fmt.Fprintf(w, "hello %s", middleware.RecordFrom(r.Context()).Client)
	})
	g.chained = g.stack.Chain().Then(upstream)
	router := onion.NewRouter(g.stack.Handlers()...)
	router.Handle("/", onion.FromHandler(upstream))
	g.sliced = router
	return g
}

// TestDefaultOrder pins the order the chapter explains.
func TestDefaultOrder(t *testing.T) {
	want := []string{"recover", "request-id", "access-log", "metrics", "cors", "rate-limit", "body-limit", "auth", "timeout", "breaker"}
	if diff := cmp.Diff(want, newGateway(t, 1).stack.Names()); diff != "" {
		t.Errorf("default order (-want +got):\n%s", diff)
	}
	assert.Equal(t, []string{"recover", "request-id", "access-log"}, middleware.Default(middleware.Options{}).Names(),
		"the layers every gateway has")
}

// TestDefaultOrderConsequences checks what the order is for, in both
// onions: each case would fail with the layers in another order.
func TestDefaultOrderConsequences(t *testing.T) {
	for _, impl := range []string{"chained", "sliced"} {
		t.Run(impl, func(t *testing.T) {
			g := newGateway(t, 100)
			h := map[string]http.Handler{"chained": g.chained, "sliced": g.sliced}[impl]

			// CORS before auth: a preflight has no key, and still gets its 204.
			req := httptest.NewRequest("OPTIONS", "/api/x", nil)
			req.Header.Set("Origin", "https://app.example")
			req.Header.Set("Access-Control-Request-Method", "GET")
			assert.Equal(t, http.StatusNoContent, do(h, req).Code, "preflight")

			// Request id and CORS outside auth: a 401 carries the id and
			// can be read by the page.
			rec := get(h, "/api/x", "Origin", "https://app.example")
			assert.Equal(t, http.StatusUnauthorized, rec.Code)
			assert.NotEmpty(t, rec.Header().Get(middleware.HeaderRequestID))
			assert.Equal(t, "https://app.example", rec.Header().Get("Access-Control-Allow-Origin"))

			rec = get(h, "/admin", middleware.HeaderAPIKey, "alice-key")
			assert.Equal(t, http.StatusForbidden, rec.Code)
			rec = get(h, "/api/x", middleware.HeaderAPIKey, "alice-key")
			assert.Equal(t, "hello alice", rec.Body.String())

			// Body limit before auth: an oversized upload is refused
			// whoever sends it.
			big := httptest.NewRequest("POST", "/api/x", strings.NewReader(strings.Repeat("x", 2<<10)))
			assert.Equal(t, http.StatusRequestEntityTooLarge, do(h, big).Code)

			// Recover outermost: the 500 carries the request id, and the
			// access log has the request, as a 500.
			rec = get(h, "/api/panic", middleware.HeaderAPIKey, "alice-key", middleware.HeaderRequestID, "trace-me")
			assert.Equal(t, http.StatusInternalServerError, rec.Code)
			assert.Equal(t, "trace-me", rec.Header().Get(middleware.HeaderRequestID))

			// Recover outside the other layers: a panic in one of them
			// (here the rate limit's key) is a 500, and logged.
			rec = get(h, "/api/layer-panic")
			assert.Equal(t, http.StatusInternalServerError, rec.Code)

			// Timeout inside the checks: the deadline starts after the
			// rate limit and auth (which reads its clock for a signed
			// request) have run, so a slow check does not eat the
			// upstream's time.
			rec = get(h, "/api/deadline", "Authorization", middleware.Sign("bob", "bob-secret", "GET", "/api/deadline", time.Now()))
			assert.Equal(t, "true", rec.Body.String(), "the deadline started after the checks")

			// Breaker inside the access log and the metrics: its 503 is
			// logged and counted.
			assert.Equal(t, http.StatusBadGateway, get(h, "/api/down", middleware.HeaderAPIKey, "alice-key").Code)
			assert.Equal(t, http.StatusServiceUnavailable, get(h, "/api/down", middleware.HeaderAPIKey, "alice-key").Code)

			var logged []string
			for _, e := range g.logs.Entries(t) {
				if e["msg"] == "request" {
					logged = append(logged, fmt.Sprintf("%v %v %v", e["status"], e["path"], e["client"]))
					// Every line has the request id (the access log reads it from
					// the Record on the way out, wherever RequestID is).
					assert.NotEmpty(t, e["request_id"], "%v %v", e["status"], e["path"])
				}
			}
			want := []string{
				"204 /api/x ", "401 /api/x ", "403 /admin alice", "200 /api/x alice", "413 /api/x ", "500 /api/panic alice",
				"500 /api/layer-panic ", "200 /api/deadline bob", "502 /api/down alice", "503 /api/down alice",
			}
			if diff := cmp.Diff(want, logged); diff != "" {
				t.Errorf("every answer is logged, refusals too (-want +got):\n%s", diff)
			}

			// Metrics outside the refusing layers: the 401s, 403 and 413
			// are counted, the panics and the breaker's 503 too.
			route := map[string]string{"chained": "unmatched", "sliced": "/"}[impl]
			counted := strings.ReplaceAll(`
# HELP gateway_requests_total Requests handled by the gateway.
# TYPE gateway_requests_total counter
gateway_requests_total{class="2xx",route="ROUTE",upstream=""} 2
gateway_requests_total{class="2xx",route="ROUTE",upstream="A"} 1
gateway_requests_total{class="4xx",route="ROUTE",upstream=""} 3
gateway_requests_total{class="5xx",route="ROUTE",upstream=""} 4
`, "ROUTE", route)
			assert.NoError(t, testutil.GatherAndCompare(g.reg, strings.NewReader(counted), "gateway_requests_total"))
		})
	}
}

// TestDefaultAbortedResponse: a handler that panics after its header went
// out (a proxy aborting with http.ErrAbortHandler) is logged with the
// status it sent and aborted=true, and counted in the class "aborted", in
// both onions: the client got neither a 200 nor a 500, but a cut.
func TestDefaultAbortedResponse(t *testing.T) {
	for _, impl := range []string{"chained", "sliced"} {
		t.Run(impl, func(t *testing.T) {
			g := newGateway(t, 100)
			h := map[string]http.Handler{"chained": g.chained, "sliced": g.sliced}[impl]
			assert.PanicsWithValue(t, http.ErrAbortHandler, func() { get(h, "/api/abort", middleware.HeaderAPIKey, "alice-key") })

			entries := g.logs.Entries(t)
			require.Len(t, entries, 1)
			assert.Equal(t, 200.0, entries[0]["status"])
			assert.Equal(t, true, entries[0]["aborted"])
			want := `
# HELP gateway_requests_total Requests handled by the gateway.
# TYPE gateway_requests_total counter
gateway_requests_total{class="aborted",route="/",upstream="A"} 1
`
			if impl == "chained" {
				want = strings.Replace(want, `route="/"`, `route="unmatched"`, 1)
			}
			assert.NoError(t, testutil.GatherAndCompare(g.reg, strings.NewReader(want), "gateway_requests_total"))
		})
	}
}

// TestDefaultRateLimitBeforeAuth: a flood without credentials is stopped
// by the rate limit (429), before auth spends any work on it.
func TestDefaultRateLimitBeforeAuth(t *testing.T) {
	for _, impl := range []string{"chained", "sliced"} {
		t.Run(impl, func(t *testing.T) {
			g := newGateway(t, 3)
			h := map[string]http.Handler{"chained": g.chained, "sliced": g.sliced}[impl]
			var codes []int
			for range 5 {
				codes = append(codes, do(h, from("10.0.0.9")).Code)
			}
			if diff := cmp.Diff([]int{401, 401, 401, 429, 429}, codes); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestDefaultStackConcurrent sends many concurrent requests from many
// clients through the full stack, in both onions, under -race.
func TestDefaultStackConcurrent(t *testing.T) {
	g := newGateway(t, 1000)
	var wg sync.WaitGroup
	errs := make(chan string, 400)
	for i := range 400 {
		wg.Go(func() {
			h := g.chained
			if i%2 == 1 {
				h = g.sliced
			}
			req := from(fmt.Sprint("10.0.1.", i%7))
			req.URL.Path = "/api/x"
			want, code := 401, 0
			if i%3 != 0 {
				req.Header.Set(middleware.HeaderAPIKey, "alice-key")
				want = 200
			}
			code = do(h, req).Code
			if code != want {
				errs <- fmt.Sprintf("request %d: %d, want %d", i, code, want)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
