package onion_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/06-middleware/onion"
)

// trace is a middleware written once, in the chained style, that records
// when the request passes it on the way in and on the way out.
func trace(log *[]string, name string) onion.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			*log = append(*log, "in"+name)
			next.ServeHTTP(w, r)
			*log = append(*log, "out"+name)
		})
	}
}

// traceSlice is the same layer written in the slice style.
func traceSlice(log *[]string, name string) onion.HandlerFunc {
	return func(c *onion.Context) {
		*log = append(*log, "in"+name)
		c.Next()
		*log = append(*log, "out"+name)
	}
}

// deny answers 403 and stops the request, in the chained style.
func deny(log *[]string) onion.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			*log = append(*log, "deny")
			http.Error(w, "no", http.StatusForbidden)
		})
	}
}

// denySlice is deny in the slice style: it must Abort.
func denySlice(log *[]string) onion.HandlerFunc {
	return func(c *onion.Context) {
		*log = append(*log, "deny")
		http.Error(c.Writer, "no", http.StatusForbidden)
		c.Abort()
	}
}

// wrapping is h with the writer wrapped (by a type with Unwrap, as every
// wrapper must have) while it runs, as a layer that watches the response
// would.
func wrapping(h onion.HandlerFunc) onion.HandlerFunc {
	return func(c *onion.Context) {
		w := c.Writer
		c.Writer = &wrappedWriter{w}
		h(c)
		c.Writer = w
	}
}

type wrappedWriter struct{ http.ResponseWriter }

func (w *wrappedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func handler(log *[]string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*log = append(*log, "handler")
		w.WriteHeader(http.StatusTeapot)
	})
}

// onions builds the same two-layer onion four ways: each implementation,
// with layers written in each style.
func onions(log *[]string, second func(*[]string) (onion.Middleware, onion.HandlerFunc)) map[string]http.Handler {
	m2, s2 := second(log)
	router := func(layers ...onion.HandlerFunc) http.Handler {
		r := onion.NewRouter()
		r.Handle("/", append(layers, onion.FromHandler(handler(log)))...)
		return r
	}
	return map[string]http.Handler{
		"chain of chained middleware": onion.Chain{trace(log, "1"), m2}.Then(handler(log)),
		"chain of slice layers":       onion.Chain{onion.ToMiddleware(traceSlice(log, "1")), onion.ToMiddleware(s2)}.Then(handler(log)),
		"router of chained middleware": router(
			onion.FromMiddleware(trace(log, "1")), onion.FromMiddleware(m2)),
		"router of slice layers": router(traceSlice(log, "1"), s2),
		"chain of chained middleware through both adapters": onion.Chain{
			onion.ToMiddleware(onion.FromMiddleware(trace(log, "1"))), onion.ToMiddleware(onion.FromMiddleware(m2))}.Then(handler(log)),
		// A slice layer carried to the chained world and back, one that
		// wraps the writer and one that does not.
		"router of slice layers through both adapters": router(
			onion.FromMiddleware(onion.ToMiddleware(wrapping(traceSlice(log, "1")))),
			onion.FromMiddleware(onion.ToMiddleware(s2))),
	}
}

func TestOnionOrderIsTheSameInBothImplementations(t *testing.T) {
	var log []string
	second := func(log *[]string) (onion.Middleware, onion.HandlerFunc) {
		return trace(log, "2"), traceSlice(log, "2")
	}
	for name, h := range onions(&log, second) {
		t.Run(name, func(t *testing.T) {
			log = nil
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			if diff := cmp.Diff([]string{"in1", "in2", "handler", "out2", "out1"}, log); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
			assert.Equal(t, http.StatusTeapot, rec.Code)
		})
	}
}

func TestShortCircuitIsTheSameInBothImplementations(t *testing.T) {
	var log []string
	second := func(log *[]string) (onion.Middleware, onion.HandlerFunc) {
		return deny(log), denySlice(log)
	}
	for name, h := range onions(&log, second) {
		t.Run(name, func(t *testing.T) {
			log = nil
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			if diff := cmp.Diff([]string{"in1", "deny", "out1"}, log); diff != "" {
				t.Errorf("the handler must not run after a layer stops the request (-want +got):\n%s", diff)
			}
			assert.Equal(t, http.StatusForbidden, rec.Code)
		})
	}
}

func TestAbortIsVisibleToOuterLayers(t *testing.T) {
	var seen bool
	r := onion.NewRouter(func(c *onion.Context) {
		c.Next()
		seen = c.IsAborted()
	})
	r.Handle("/", onion.FromMiddleware(deny(new([]string))), onion.FromHandler(handler(new([]string))))
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	assert.True(t, seen, "an adapted middleware that does not call next must abort the Context")
}

func TestSliceLayerThatReturnsWithoutNextIsFollowed(t *testing.T) {
	var log []string
	r := onion.NewRouter()
	r.Handle("/",
		func(c *onion.Context) { log = append(log, "before") }, // no Next, no Abort: gin's semantics
		onion.FromHandler(handler(&log)))
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if diff := cmp.Diff([]string{"before", "handler"}, log); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestChainAppendDoesNotShareTheBase(t *testing.T) {
	var log []string
	base := make(onion.Chain, 1, 8) // spare capacity: the trap for append
	base[0] = trace(&log, "base")
	a := base.Append(trace(&log, "A"))
	b := base.Append(trace(&log, "B"))
	a.Then(handler(&log)).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if diff := cmp.Diff([]string{"inbase", "inA", "handler", "outA", "outbase"}, log); diff != "" {
		t.Errorf("chain a ran chain b's layer (-want +got):\n%s", diff)
	}
	assert.Len(t, b, 2)
	assert.Len(t, base.Append(trace(&log, "C"), trace(&log, "D")), 3, "more layers than the base has")
}

// statusWatcher is a slice layer that watches the response through a
// writer of its own, as an access log written in the slice style would.
type statusWatcher struct {
	http.ResponseWriter
	status *int
}

func (w *statusWatcher) WriteHeader(code int) {
	*w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWatcher) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestToMiddlewareHandsOnTheWriterTheLayerWrapped: a slice layer carried
// into a chain that wraps the writer sees the answer the handler writes
// through it, in a chain and back in a slice.
func TestToMiddlewareHandsOnTheWriterTheLayerWrapped(t *testing.T) {
	var status int
	watch := func(c *onion.Context) {
		w := c.Writer
		c.Writer = &statusWatcher{ResponseWriter: w, status: &status}
		c.Next()
		c.Writer = w
	}
	var log []string
	for name, h := range map[string]http.Handler{
		"chain":          onion.Chain{onion.ToMiddleware(watch)}.Then(handler(&log)),
		"there and back": onion.Chain{onion.ToMiddleware(onion.FromMiddleware(onion.ToMiddleware(watch)))}.Then(handler(&log)),
	} {
		status = 0
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		assert.Equal(t, http.StatusTeapot, rec.Code, name)
		assert.Equal(t, http.StatusTeapot, status, "%s: the layer's writer saw the answer", name)
	}
}

// TestAPanicGivesOuterLayersTheirWriterBack: a slice layer that recovers
// a panic from further in answers through c.Writer, which must be the
// writer it had, not one an adapted layer further in passed on. That one
// may sit on a ToMiddleware Context already back in the pool (released as
// the panic left it), which another request may be using.
func TestAPanicGivesOuterLayersTheirWriterBack(t *testing.T) {
	panics := onion.FromHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	for name, adapted := range map[string]onion.HandlerFunc{
		"chained middleware that wraps the writer": onion.FromMiddleware(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { next.ServeHTTP(&wrappedWriter{w}, r) })
		}),
		"slice layer that wraps the writer, there and back": onion.FromMiddleware(onion.ToMiddleware(wrapping(traceSlice(new([]string), "")))),
		"chained middleware that does not wrap":             onion.FromMiddleware(trace(new([]string), "")),
	} {
		t.Run(name, func(t *testing.T) {
			var before, after http.ResponseWriter
			recoverSlice := func(c *onion.Context) {
				before = c.Writer
				defer func() {
					if recover() != nil {
						after = c.Writer
						if after == before { // else it may be another request's: do not write
							http.Error(c.Writer, "recovered", http.StatusInternalServerError)
						}
						c.Abort()
					}
				}()
				c.Next()
			}
			r := onion.NewRouter()
			r.Handle("/", recoverSlice, adapted, panics)
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			assert.Same(t, before, after, "after the panic, the recovering layer's c.Writer is not its own")
			assert.Equal(t, http.StatusInternalServerError, rec.Code)
		})
	}
}
