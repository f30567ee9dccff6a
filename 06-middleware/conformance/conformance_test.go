package conformance_test

import (
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/06-middleware/conformance"
	"github.com/gocourse/gateway/06-middleware/onion"
)

func subject(m onion.Middleware) conformance.Subject {
	return conformance.Subject{New: func() onion.Middleware { return m }}
}

func handler(f func(w http.ResponseWriter, r *http.Request, next http.Handler)) onion.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f(w, r, next) })
	}
}

type unwrapping struct{ http.ResponseWriter }

func (u unwrapping) Unwrap() http.ResponseWriter { return u.ResponseWriter }

type opaque struct{ http.ResponseWriter }

// bad pairs a broken middleware with a word the check must say about it.
var bad = map[string]struct {
	m    onion.Middleware
	want string
}{
	"never calls next": {handler(func(w http.ResponseWriter, r *http.Request, next http.Handler) {}),
		"CallsNextOnce: the request never reached the handler"},
	"calls next twice": {handler(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		next.ServeHTTP(w, r)
		next.ServeHTTP(w, r)
	}), "CallsNextOnce: the handler ran 2 times"},
	"writes 200 first": {handler(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		io.WriteString(w, "hi ")
		next.ServeHTTP(w, r)
	}), "PreservesResponse: the client got status 200"},
	"wraps without Unwrap": {handler(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		next.ServeHTTP(opaque{w}, r)
	}), "LetsTheHandlerFlush: the handler could not flush"},
	// w.(http.Flusher) instead of http.NewResponseController(w): true
	// for the server's writer, false for any wrapper, such as the slice
	// onion's.
	"asserts http.Flusher": {handler(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if _, ok := w.(http.Flusher); !ok {
			http.Error(w, "cannot stream", http.StatusInternalServerError)
			return
		}
		next.ServeHTTP(w, r)
	}), "SameInBoth: the two onions answered differently: chained 418"},
	"writes the header twice": {wrapping(func(w http.ResponseWriter) http.ResponseWriter { return &twiceWriter{w} }),
		"WritesTheHeaderOnce: the handler called WriteHeader once, the client's writer got 2 calls"},
	"buffers the body": {wrapping(func(w http.ResponseWriter) http.ResponseWriter { return &bufferingWriter{ResponseWriter: w} }),
		"LetsTheHandlerFlush: when the handler flushed, the client had received \"\""},
	"takes a 1xx for the status": {wrapping(func(w http.ResponseWriter) http.ResponseWriter { return &firstCodeWriter{ResponseWriter: w} }),
		"PassesOnEarlyHints: after a 103 Early Hints, the client got 200"},
	// A header map of its own, copied to the writer's after the status
	// has gone out: a server sends the fields present at WriteHeader, so
	// the client never sees the handler's.
	"copies the header after WriteHeader": {wrapping(func(w http.ResponseWriter) http.ResponseWriter {
		return &lateHeaderWriter{ResponseWriter: w, h: http.Header{}}
	}), "PreservesResponse: the handler's header X-Conformance did not reach the client"},
	"has Flush but no Unwrap": {wrapping(func(w http.ResponseWriter) http.ResponseWriter { return flushOnly{w} }),
		"chained/LetsTheHandlerHijack: the handler could not take the connection over"},
}

// wrapping is a middleware that hands next the writer wrap returns, and
// calls done on it, if it has one, once next returns.
func wrapping(wrap func(http.ResponseWriter) http.ResponseWriter) onion.Middleware {
	return handler(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		ww := wrap(w)
		next.ServeHTTP(ww, r)
		if d, ok := ww.(interface{ done() }); ok {
			d.done()
		}
	})
}

// twiceWriter's Write sends a 200 header before every write, even after
// the handler's WriteHeader.
type twiceWriter struct{ http.ResponseWriter }

func (w *twiceWriter) Write(p []byte) (int, error) {
	w.ResponseWriter.WriteHeader(http.StatusOK)
	return w.ResponseWriter.Write(p)
}
func (w *twiceWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// bufferingWriter keeps the response until the handler returns, and its
// Flush does nothing; done sends it all and flushes.
type bufferingWriter struct {
	http.ResponseWriter
	code int
	body strings.Builder
}

func (w *bufferingWriter) WriteHeader(code int)        { w.code = code }
func (w *bufferingWriter) Write(p []byte) (int, error) { return w.body.Write(p) }
func (w *bufferingWriter) Flush()                      {}
func (w *bufferingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
func (w *bufferingWriter) done() {
	if w.code != 0 {
		w.ResponseWriter.WriteHeader(w.code)
	}
	io.WriteString(w.ResponseWriter, w.body.String())
	http.NewResponseController(w.ResponseWriter).Flush()
}

// firstCodeWriter passes on the first WriteHeader only, "to avoid a
// superfluous WriteHeader", taking a 1xx for the final status.
type firstCodeWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *firstCodeWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}
func (w *firstCodeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// lateHeaderWriter gives the handler a header map of its own and copies
// it to the writer's only after writing the status.
type lateHeaderWriter struct {
	http.ResponseWriter
	h http.Header
}

func (w *lateHeaderWriter) Header() http.Header { return w.h }
func (w *lateHeaderWriter) WriteHeader(code int) {
	w.ResponseWriter.WriteHeader(code)
	maps.Copy(w.ResponseWriter.Header(), w.h)
}
func (w *lateHeaderWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// flushOnly can flush, through a method of its own, but has no Unwrap,
// so nothing else the server's writer can do (Hijack) reaches it.
type flushOnly struct{ http.ResponseWriter }

func (w flushOnly) Flush() { http.NewResponseController(w.ResponseWriter).Flush() }

func TestCheckCatchesBrokenMiddleware(t *testing.T) {
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			errs := conformance.Check(subject(tc.m))
			var all []string
			for _, err := range errs {
				all = append(all, err.Error())
			}
			assert.Contains(t, strings.Join(all, "\n"), tc.want)
		})
	}
}

func TestCheckPassesAGoodMiddleware(t *testing.T) {
	good := handler(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		w.Header().Set("X-Seen", "1")
		next.ServeHTTP(unwrapping{w}, r)
	})
	assert.Empty(t, conformance.Check(subject(good)))
	conformance.Test(t, subject(good))
}
