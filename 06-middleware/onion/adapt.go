package onion

import "net/http"

// FromMiddleware turns a chained middleware into a layer of the slice
// onion. m is given its next handler once, here, not per request: next
// resumes the slice of whichever request reaches it, found through the
// writer (see rootWriter). If m answers the request without calling next,
// the layer aborts the Context, as a slice layer would.
func FromMiddleware(m Middleware) HandlerFunc {
	h := m(http.HandlerFunc(resume))
	return func(c *Context) {
		w, r, at := c.Writer, c.Request, c.index
		// The layers before this one see their own writer and request
		// again, after a panic too: resume gave c the ones m passed on,
		// which may sit on a ToMiddleware Context the panic has already
		// put back in the pool.
		defer func() { c.Writer, c.Request = w, r }()
		h.ServeHTTP(w, r)
		if c.index == at { // next was not called: m short-circuited
			c.Abort()
		} else {
			// next was called, so the rest of the slice has run, or
			// panicked and m recovered: either way nothing is left to run.
			c.index = len(c.handlers)
		}
	}
}

// resume is the next handler of every adapted middleware: it carries on
// with the slice, with the writer and request the middleware passed on.
func resume(w http.ResponseWriter, r *http.Request) {
	c := contextOf(w)
	c.Writer, c.Request = w, r
	c.Next()
}

// ToMiddleware turns a slice layer into a chained middleware: h runs with
// a Context whose Next calls the wrapped handler. If h calls Abort, next is
// not called.
//
// While next runs, the Context's root is marked handed over: a writer h
// wrapped still has that root under it, and if next is FromMiddleware's
// (a slice layer carried to the chained world and back), resume must find
// the Context further out, the one whose slice it carries on, not this one,
// which has nothing left to run.
func ToMiddleware(h HandlerFunc) Middleware {
	return func(next http.Handler) http.Handler {
		handlers := []HandlerFunc{h, func(c *Context) {
			w := c.Writer
			if w == &c.root { // h did not wrap the writer: skip the root
				w = c.root.ResponseWriter
			}
			c.root.handedOver = true
			next.ServeHTTP(w, c.Request)
			c.root.handedOver = false
		}}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			run(w, r, handlers)
		})
	}
}

// FromHandler makes h the last layer of a slice: the handler at the
// centre of the onion.
func FromHandler(h http.Handler) HandlerFunc {
	return func(c *Context) { h.ServeHTTP(c.Writer, c.Request) }
}
