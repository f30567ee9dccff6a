// Package middleware is the gateway's set of layers, each a plain
// func(http.Handler) http.Handler (onion.Middleware) written once and run
// in either onion (onion.Chain, or onion.Router through
// onion.FromMiddleware). Default puts them in the order the chapter
// explains.
package middleware

import (
	"context"
	"net/http"
	"time"
)

// Record is what the layers of one request tell each other. Layers further
// in fill it (the request id, the authenticated client, the route, the
// upstream the proxy chose); layers further out read it on the way out to
// log and count the request.
//
// The first layer that needs a Record adds one to the request's context;
// the others find it there. A proxy (or any handler) reports the upstream
// it picked with SetUpstream, and a router inside the chain its route with
// SetRoute. They must do so before their ServeHTTP returns, from the
// goroutine that runs it: the access log and the metrics read the Record
// when the request comes back out.
type Record struct {
	ID       string // the request id (RequestID)
	Client   string // who the request authenticated as (Auth); never a secret
	Route    string // the route that matched, a bounded label: never the raw path
	Upstream string // the upstream that served the request: "" if none did
}

type recordKey struct{}

// RecordFrom returns the request's Record, or nil if no layer added one.
func RecordFrom(ctx context.Context) *Record {
	if c, ok := recordContextOf(ctx); ok {
		return &c.rec
	}
	return nil
}

// recordContextOf finds the recordContext in ctx. Most often ctx is the
// recordContext itself (no layer has added to the context since), and a
// type assertion finds it without a call to Value.
func recordContextOf(ctx context.Context) (*recordContext, bool) {
	if c, ok := ctx.(*recordContext); ok {
		return c, true
	}
	c, ok := ctx.Value(recordKey{}).(*recordContext)
	return c, ok
}

// withRecord returns r with a Record, adding one if it has none.
func withRecord(r *http.Request) (*http.Request, *Record) {
	r, c := recordOf(r)
	return r, &c.rec
}

// recordOf returns r with a recordContext, adding one if it has none: a
// copy of r (WithContext) and one allocation, made once per request by
// the outermost layer that needs it, whoever that is.
func recordOf(r *http.Request) (*http.Request, *recordContext) {
	if c, ok := recordContextOf(r.Context()); ok {
		return r, c
	}
	c := &recordContext{Context: r.Context(), start: time.Now()}
	return r.WithContext(c), c
}

// recordContext is context.WithValue(parent, recordKey{}, &rec) in one
// allocation instead of two, and it carries what the layers of one
// request can share instead of allocating or measuring each their own:
// the clock readings of the request's start and end, the arrays of the
// X-Request-Id header values, and two writers.
type recordContext struct {
	context.Context
	rec        Record
	start, end time.Time
	ids        [2]string       // X-Request-Id values, for the request's header and the response's
	idWriter   fieldWriter     // RequestID's writer
	sw         [2]statusWriter // the status writers of the first layers that ask (statusFor)
}

// statusFor is statusOf for the layers that have the request's
// recordContext: if w is no statusWriter (a layer between wraps the
// writer), one of the Record's own is used before a new one is allocated.
// Two, for the access log and metrics outside the layers that wrap the
// writer (Timeout, CORS), and the breaker inside them.
func (c *recordContext) statusFor(w http.ResponseWriter) *statusWriter {
	if sw, ok := w.(*statusWriter); ok {
		return sw
	}
	for i := range c.sw {
		if c.sw[i].ResponseWriter == nil {
			c.sw[i].ResponseWriter = w
			return &c.sw[i]
		}
	}
	return &statusWriter{ResponseWriter: w}
}

func (c *recordContext) Value(key any) any {
	if _, ok := key.(recordKey); ok { // cheaper than key == recordKey{}: no runtime call
		return c
	}
	return c.Context.Value(key)
}

// finish returns when the request finished: the clock is read once, by
// the first layer that asks on the way out (the innermost), and the
// layers outside it report the same duration. Reading the clock costs
// tens of nanoseconds; a line and a metric that disagree by the time a
// counter takes to increment would tell nobody anything.
func (c *recordContext) finish() time.Time {
	if c.end.IsZero() {
		c.end = time.Now()
	}
	return c.end
}

// SetUpstream records which upstream serves r, for the access log and the
// metrics. It does nothing if no layer asked for a Record.
func SetUpstream(r *http.Request, upstream string) {
	if rec := RecordFrom(r.Context()); rec != nil {
		rec.Upstream = upstream
	}
}

// SetRoute records the route r matched. Layers outside the router read it,
// since a router inside the chain cannot set r.Pattern on their copy of
// the request. It does nothing if no layer asked for a Record.
func SetRoute(r *http.Request, route string) {
	if rec := RecordFrom(r.Context()); rec != nil {
		rec.Route = route
	}
}

// WithRoute returns r with a Record whose route is route, adding the
// Record if r has none. A router outside the chain calls it before the
// chain's first layer: a request that a layer refuses (auth's 401, a rate
// limit's 429) never reaches the handler at the chain's end, and would
// be logged and counted as "unmatched" if only that handler said.
func WithRoute(r *http.Request, route string) *http.Request {
	r, c := recordOf(r)
	c.rec.Route = route
	return r
}

// route is the label of r's route: the one a router reported, else the
// pattern that matched (onion.Router and http.ServeMux set it), else
// "unmatched". Never the raw path: a label per path is a metric per URL a
// scanner tries, and memory without bound.
func route(r *http.Request, rec *Record) string {
	switch {
	case rec != nil && rec.Route != "":
		return rec.Route
	case r.Pattern != "":
		return r.Pattern
	default:
		return "unmatched"
	}
}
