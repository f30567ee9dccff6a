// Package onion is the middleware "onion" (洋葱模式) built two ways.
//
// A request enters through the outermost layer and travels in towards the
// handler; the response travels back out through the same layers in
// reverse order. Code a layer runs before handing the request on happens
// "on the way in", code after it "on the way out":
//
//	in1 → in2 → handler → out2 → out1
//
// The slice + index way (Context, HandlerFunc, Router) keeps each route's
// layers in a slice and an index into it; Next runs the rest of the slice
// and returns, Abort stops it. The chained way (Middleware, Chain) wraps
// handlers in handlers: func(http.Handler) http.Handler, composed once at
// start-up. FromMiddleware and ToMiddleware adapt one to the other, so a
// middleware is written once and runs in both.
package onion

import (
	"net/http"
	"sync"
)

// HandlerFunc is a layer of the slice + index onion. It calls c.Next to
// run the layers after it (and the handler) before it goes on, or c.Abort
// to stop the request from going further in.
type HandlerFunc func(c *Context)

// Context is one request's trip through a slice of layers. Writer and
// Request are what the current layer should use: a layer may replace them
// (to wrap the writer, or to add a value to the request's context) before
// it calls Next, and the layers after it see the new ones.
//
// A Context is pooled and reused once the request is done: a layer must not
// keep it, or hand it to a goroutine that outlives the request.
type Context struct {
	Writer  http.ResponseWriter
	Request *http.Request

	handlers []HandlerFunc // shared by every request on the route: never written
	index    int
	aborted  bool

	root rootWriter // the request's writer, through which adapters find c
}

// Next runs the layers after the current one, then returns to it. A layer
// that returns without calling Next or Abort is followed by the rest of the
// slice all the same (as in gin): only Abort stops the request.
func (c *Context) Next() {
	c.index++
	for c.index < len(c.handlers) && !c.aborted {
		c.handlers[c.index](c)
		c.index++
	}
}

// Abort stops the request from going further in: the layers after the
// current one do not run. The layers before it still finish their "on the
// way out" code when it returns. A layer that aborts should have answered
// the request (http.Error, for instance).
func (c *Context) Abort() { c.aborted = true }

// IsAborted reports whether a layer has called Abort.
func (c *Context) IsAborted() bool { return c.aborted }

// pool recycles Contexts: a request through a Router or a ToMiddleware
// layer allocates none.
var pool = sync.Pool{New: func() any { return new(Context) }}

// acquire returns a pooled Context ready to run handlers for (w, r).
func acquire(w http.ResponseWriter, r *http.Request, handlers []HandlerFunc) *Context {
	c := pool.Get().(*Context)
	c.root = rootWriter{ResponseWriter: w, c: c}
	c.Writer, c.Request = &c.root, r
	c.handlers, c.index, c.aborted = handlers, -1, false
	return c
}

// release clears c, so that the pool keeps no request alive, and returns it.
func release(c *Context) {
	*c = Context{}
	pool.Put(c)
}

// run takes a request through handlers.
func run(w http.ResponseWriter, r *http.Request, handlers []HandlerFunc) {
	c := acquire(w, r, handlers)
	defer release(c) // deferred so that a panic (recovered further out) does not leak c
	c.Next()
}
