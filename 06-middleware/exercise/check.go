package exercise

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocourse/gateway/06-middleware/conformance"
	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/06-middleware/onion"
)

// ticker is a fake clock that moves by step each time it is read.
type ticker struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *ticker) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.now
	c.now = c.now.Add(c.step)
	return t
}

// CheckResponseTime checks an answer to exercise 1.
func CheckResponseTime(t *testing.T, responseTime func(now func() time.Time) onion.Middleware) {
	t.Run("Header", func(t *testing.T) {
		clock := &ticker{step: 25 * time.Millisecond}
		h := responseTime(clock.Now)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusCreated)
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		// rec.Result().Header is the header as it was sent, at WriteHeader;
		// rec.Header() would also show what was set after that, too late.
		if got := rec.Result().Header.Get("X-Response-Time"); got != "25ms" {
			t.Errorf("X-Response-Time = %q in the header sent, want %q (the clock moves 25ms each time it is read: read it once on the way in, once at WriteHeader; a header set after next.ServeHTTP returns is never sent)", got, "25ms")
		}
	})
	t.Run("EarlyHints", func(t *testing.T) {
		clock := &ticker{step: 25 * time.Millisecond}
		h := responseTime(clock.Now)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</style.css>; rel=preload; as=style")
			w.WriteHeader(http.StatusEarlyHints)
			clock.Now() // the handler works on: 25ms pass
			w.WriteHeader(http.StatusCreated)
		}))
		rec := &finalOnly{ResponseRecorder: httptest.NewRecorder()}
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.early != 1 || rec.Code != http.StatusCreated {
			t.Errorf("the handler sent a 103 and then a 201; the client got %d informational response(s) and then %d: pass every WriteHeader on", rec.early, rec.Code)
		}
		if got := rec.Result().Header.Get("X-Response-Time"); got != "50ms" {
			t.Errorf("X-Response-Time = %q in the final header, want %q: a 103 Early Hints is not the response's header, "+
				"so measure up to the final WriteHeader (a code of 200 or more), not the first", got, "50ms")
		}
	})
	t.Run("ImplicitHeader", func(t *testing.T) {
		clock := &ticker{step: time.Millisecond}
		h := responseTime(clock.Now)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "no WriteHeader call: the first Write sends a 200")
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Result().Header.Get("X-Response-Time") == "" {
			t.Errorf("no X-Response-Time in the header sent when the handler only calls Write: Write must set it too, before the first byte")
		}
	})
	conformance.Test(t, conformance.Subject{New: func() onion.Middleware { return responseTime(time.Now) }})
}

// finalOnly is a recorder that keeps informational (1xx) responses apart,
// as a client does; an httptest.ResponseRecorder takes the first
// WriteHeader, a 1xx too, for the final status.
type finalOnly struct {
	*httptest.ResponseRecorder
	early int
}

func (w *finalOnly) WriteHeader(code int) {
	if code >= 100 && code < 200 {
		w.early++
		return
	}
	w.ResponseRecorder.WriteHeader(code)
}

// CheckMethodFilter checks an answer to exercise 2.
func CheckMethodFilter(t *testing.T, methodFilter func(allowed ...string) onion.Middleware) {
	var reached bool
	h := methodFilter("GET", "HEAD")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = true
		io.WriteString(w, "through")
	}))
	for _, tc := range []struct {
		method string
		code   int
	}{{"GET", 200}, {"HEAD", 200}, {"POST", 405}, {"DELETE", 405}} {
		reached = false
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, "/", nil))
		if rec.Code != tc.code {
			t.Errorf("%s: status %d, want %d", tc.method, rec.Code, tc.code)
		}
		if tc.code == 200 && !reached {
			t.Errorf("%s: an allowed method never reached the next handler: the filter must call next.ServeHTTP for it", tc.method)
		}
		// Only a 405 written can have a missing return after it: with
		// any other status, the status is the mistake to tell.
		if tc.code == 405 && rec.Code == 405 && reached {
			t.Errorf("%s: the request reached the next handler after the 405 (a missing return after writing it?)", tc.method)
		}
		// rec.Result().Header is the header as it was sent; an Allow set
		// after WriteHeader shows in rec.Header() but never reaches a client.
		if allow := rec.Result().Header.Values("Allow"); tc.code == 405 && !slices.Equal(listItems(allow), []string{"GET", "HEAD"}) {
			t.Errorf("%s: Allow = %q in the header sent, want \"GET, HEAD\" (set it before WriteHeader or http.Error: a header set afterwards is never sent)", tc.method, allow)
		}
	}
	conformance.Test(t, conformance.Subject{New: func() onion.Middleware { return methodFilter("GET") }})
}

// listItems splits the lines of a comma-separated field into its items,
// without the optional whitespace around each (RFC 9110, section 5.6.1):
// "GET, HEAD", "GET,HEAD" and two lines "GET" and "HEAD" are one list.
func listItems(lines []string) []string {
	var items []string
	for _, line := range lines {
		for item := range strings.SplitSeq(line, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
	}
	return items
}

// CheckPerClient checks an answer to exercise 3: alice floods from an
// office's address, bob at the same address is unaffected.
func CheckPerClient(t *testing.T, perClient func(middleware.Options) middleware.Stack) {
	auth, err := middleware.NewAuth(middleware.AuthConfig{APIKeys: []middleware.Credential{
		{ID: "alice", Secret: "alice-key"}, {ID: "bob", Secret: "bob-key"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	o := middleware.Options{
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Auth:        auth,
		RateLimiter: middleware.NewRateLimiter(middleware.RateLimit{Rate: 0, Burst: 3, Key: middleware.ClientOrIP}),
	}
	stack := perClient(o)
	names := stack.Names()
	if got, want := slices.Sorted(slices.Values(names)), slices.Sorted(slices.Values(middleware.Default(o).Names())); !slices.Equal(got, want) {
		t.Errorf("layers %v: want the default stack's layers %v, each once, in a new order: only the order may change", names, middleware.Default(o).Names())
	}
	if i, j := slices.Index(names, "rate-limit"), slices.Index(names, "auth"); i < 0 || j < 0 || i < j {
		t.Errorf("layers %v: the rate limit must come after auth, or it cannot know the client", names)
	}
	def := middleware.Default(o).Names()
	if outer := def[:slices.Index(def, "rate-limit")]; len(names) < len(outer) || !slices.Equal(names[:len(outer)], outer) {
		t.Errorf("layers %v: keep %v outermost, in that order: moved inside auth or the rate limit, a request refused with 401 or 429 is not logged, has no request ID, or a panic in auth is not recovered", names, outer)
	}
	h := stack.Chain().Then(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	send := func(key string) int {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = "203.0.113.9:5000" // the office's one address
		req.Header.Set(middleware.HeaderAPIKey, key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	var alice []int
	for range 5 {
		alice = append(alice, send("alice-key"))
	}
	if fmt.Sprint(alice) != "[200 200 200 429 429]" {
		t.Errorf("alice's flood got %v, want [200 200 200 429 429]", alice)
	}
	if code := send("bob-key"); code != 200 {
		t.Errorf("bob, at alice's address, got %d after her flood, want 200: his bucket is his own", code)
	}
}
