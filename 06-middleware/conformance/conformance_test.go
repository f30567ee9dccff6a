package conformance_test

import (
	"io"
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
}

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
