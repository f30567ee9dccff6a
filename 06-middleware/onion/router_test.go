package onion_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/onion"
)

// say is a final handler that writes its name.
func say(name string) onion.HandlerFunc {
	return func(c *onion.Context) { io.WriteString(c.Writer, name) }
}

func get(h http.Handler, path string) (int, string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Code, rec.Body.String()
}

// naiveGroup is the router of many tutorials: a route's slice is the
// group's slice with the route's handler appended.
type naiveGroup struct{ layers []onion.HandlerFunc }

func (g *naiveGroup) route(h onion.HandlerFunc) []onion.HandlerFunc {
	return append(g.layers, h) // BUG: shares g.layers' array when it has room
}

// TestNaiveAppendSharesTheBackingArray shows the bug the Router avoids,
// without needing a race: when the group's slice has spare capacity (as
// append's doubling leaves it half the time), both routes are the same
// array, and registering /b overwrites the handler of /a. With one route
// per request instead (a slice built per request by appending the chosen
// handler), concurrent requests overwrite each other's slot the same way.
func TestNaiveAppendSharesTheBackingArray(t *testing.T) {
	g := naiveGroup{layers: make([]onion.HandlerFunc, 0, 2)}
	g.layers = append(g.layers, func(c *onion.Context) {})
	a := g.route(say("A"))
	b := g.route(say("B"))
	rec := httptest.NewRecorder()
	a[1](&onion.Context{Writer: rec})
	assert.Equal(t, "B", rec.Body.String(), "the naive version is expected to run B's handler for route A")
	assert.Same(t, &a[0], &b[0], "both routes share one array")
}

// TestRouterDoesNotShareGroupArrays is the same scenario on the Router: a
// group whose layers slice has spare capacity, two routes under it. One
// global layer plus four group layers is five handlers, and Go rounds a
// five-element allocation up to a size class that holds six: if join were
// a plain append(a, b...), /g/a and /g/b would both write their handler
// into that sixth slot and /g/a would answer "B".
func TestRouterDoesNotShareGroupArrays(t *testing.T) {
	nop := func(c *onion.Context) { c.Next() }
	layers := []onion.HandlerFunc{nop}
	r := onion.NewRouter(layers...)
	g := r.Group("/g", nop, nop, nop, nop)
	gl := onion.Layers(g)
	require.Greater(t, cap(gl), len(gl), "precondition: the group's layer slice must have spare capacity, or this test cannot see a shared array")
	g.Handle("/a", say("A"))
	g.Handle("/b", say("B"))
	r.Handle("/c", say("C"))
	layers[0] = func(c *onion.Context) { io.WriteString(c.Writer, "changed ") } // the caller's slice is not the router's

	for path, want := range map[string]string{"/g/a": "A", "/g/b": "B", "/c": "C"} {
		_, body := get(r, path)
		assert.Equal(t, want, body, path)
	}
}

// TestRouterConcurrentRequests sends many concurrent requests to many
// routes of one group; under -race it would report any write to a slice
// that requests share, and each response must come from its own route.
func TestRouterConcurrentRequests(t *testing.T) {
	const routes, perRoute = 8, 100
	r := onion.NewRouter(func(c *onion.Context) {
		c.Writer.Header().Set("X-Layer", "global")
		c.Next()
	})
	g := r.Group("/api", onion.FromMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			next.ServeHTTP(w, req)
		})
	}))
	for i := range routes {
		g.Handle(fmt.Sprintf("/r%d", i), say(fmt.Sprintf("route %d", i)))
	}

	var wg sync.WaitGroup
	errs := make(chan string, routes*perRoute)
	for i := range routes * perRoute {
		wg.Go(func() {
			want := fmt.Sprintf("route %d", i%routes)
			code, body := get(r, fmt.Sprintf("/api/r%d", i%routes))
			if code != 200 || body != want {
				errs <- fmt.Sprintf("GET /api/r%d: %d %q, want %q", i%routes, code, body, want)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestRouterLongestPrefixAndGroupLayers(t *testing.T) {
	var log []string
	mark := func(s string) onion.HandlerFunc {
		return func(c *onion.Context) { log = append(log, s+" "+c.Request.Pattern) }
	}
	r := onion.NewRouter(mark("global"))
	r.Handle("/", mark("root"))
	api := r.Group("/api", mark("api"))
	api.Handle("/", mark("api-root"))
	v1 := api.Group("/v1/", mark("v1"))
	v1.Handle("users", mark("users"))

	cases := []struct {
		path string
		want []string
	}{
		{"/api/v1/users/7", []string{"global /api/v1/users", "api /api/v1/users", "v1 /api/v1/users", "users /api/v1/users"}},
		{"/api/v1/usersx", []string{"global /api", "api /api", "api-root /api"}},
		{"/api", []string{"global /api", "api /api", "api-root /api"}},
		{"/apis", []string{"global /", "root /"}},
	}
	for _, tc := range cases {
		log = nil
		get(r, tc.path)
		if diff := cmp.Diff(tc.want, log); diff != "" {
			t.Errorf("GET %s (-want +got):\n%s", tc.path, diff)
		}
	}
}

func TestRouterNotFoundGoesThroughGlobalLayers(t *testing.T) {
	var ran bool
	r := onion.NewRouter(func(c *onion.Context) { ran = true })
	r.Handle("/only", say("only"))
	code, _ := get(r, "/other")
	assert.Equal(t, http.StatusNotFound, code)
	assert.True(t, ran, "a 404 must still be logged and counted by the global layers")
}

func TestRouterRejectsDuplicatesAndLateRoutes(t *testing.T) {
	r := onion.NewRouter()
	r.Handle("/a", say("A"))
	assert.PanicsWithValue(t, "onion: route /a registered twice", func() { r.Handle("/a/", say("A")) })
	get(r, "/a")
	assert.Panics(t, func() { r.Handle("/b", say("B")) }, "routes added while serving would race with requests")
}

// TestWriterReplacedByALayer checks that a layer that wraps the writer is
// seen by the layers inside it, and that the layers outside get theirs back.
func TestWriterReplacedByALayer(t *testing.T) {
	var outer, inner http.ResponseWriter
	wrap := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(&unwrapper{w}, r)
		})
	}
	r := onion.NewRouter(func(c *onion.Context) {
		before := c.Writer
		c.Next()
		outer = c.Writer
		assert.Equal(t, before, outer)
	})
	r.Handle("/", onion.FromMiddleware(wrap), func(c *onion.Context) { inner = c.Writer })
	get(r, "/")
	require.NotNil(t, inner)
	assert.IsType(t, &unwrapper{}, inner)
	assert.NotEqual(t, outer, inner)
}

type unwrapper struct{ http.ResponseWriter }

func (u *unwrapper) Unwrap() http.ResponseWriter { return u.ResponseWriter }

type opaque struct{ http.ResponseWriter }

func TestAdapterNeedsUnwrap(t *testing.T) {
	hide := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { next.ServeHTTP(opaque{w}, r) })
	}
	r := onion.NewRouter()
	r.Handle("/", onion.FromMiddleware(hide), say("A"))
	assert.PanicsWithValue(t,
		"onion: a middleware passed its next handler a ResponseWriter (onion_test.opaque) with no Unwrap method, "+
			"so FromMiddleware cannot find the request's Context; add Unwrap() http.ResponseWriter to that type",
		func() { get(r, "/") })
}

// TestRecoveredPanicStopsTheSlice: an adapted middleware that recovers a
// panic from further in must not let the rest of the slice run after it.
func TestRecoveredPanicStopsTheSlice(t *testing.T) {
	recoverer := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if recover() != nil {
					w.WriteHeader(http.StatusInternalServerError)
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
	var after bool
	r := onion.NewRouter()
	r.Handle("/", onion.FromMiddleware(recoverer), func(c *onion.Context) { panic("boom") }, func(c *onion.Context) { after = true })
	code, _ := get(r, "/")
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.False(t, after, "the layer after the panicking one ran")
}

// TestFlushThroughTheRouter: streaming needs Flush, which
// http.ResponseController finds through the Context's writer.
func TestFlushThroughTheRouter(t *testing.T) {
	r := onion.NewRouter()
	var err error
	r.Handle("/", func(c *onion.Context) {
		io.WriteString(c.Writer, "x")
		err = http.NewResponseController(c.Writer).Flush()
	})
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	assert.NoError(t, err)
	assert.True(t, rec.Flushed)
}
