// Package middleware is the gateway's set of layers, each a plain
// func(http.Handler) http.Handler (onion.Middleware) written once and run
// in either onion (onion.Chain, or onion.Router through
// onion.FromMiddleware). Default puts them in the order the chapter
// explains.
package middleware

import (
	"context"
	"net/http"
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
	rec, _ := ctx.Value(recordKey{}).(*Record)
	return rec
}

// withRecord returns r with a Record, adding one if it has none.
func withRecord(r *http.Request) (*http.Request, *Record) {
	if rec := RecordFrom(r.Context()); rec != nil {
		return r, rec
	}
	ctx := &recordContext{Context: r.Context()}
	return r.WithContext(ctx), &ctx.rec
}

// recordContext is context.WithValue(parent, recordKey{}, &rec) in one
// allocation instead of two.
type recordContext struct {
	context.Context
	rec Record
}

func (c *recordContext) Value(key any) any {
	if key == (recordKey{}) {
		return &c.rec
	}
	return c.Context.Value(key)
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
