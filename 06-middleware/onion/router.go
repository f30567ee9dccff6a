package onion

import (
	"cmp"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync/atomic"
)

// Router sends each request to the route with the longest matching path
// prefix, through that route's slice of layers: the router's global
// layers, then those of each group the route belongs to, then the route's
// own, ending with its handler.
//
// Every slice is built once, when the route is registered, and is never
// written again: requests only read it, so any number can share it.
type Router struct {
	global   []HandlerFunc
	routes   []route // longest prefix first
	notFound []HandlerFunc
	serving  atomic.Bool
}

type route struct {
	prefix   string
	handlers []HandlerFunc
}

// NewRouter returns a router whose every request, including the ones no
// route matches (404), goes through global.
func NewRouter(global ...HandlerFunc) *Router {
	g := slices.Clone(global)
	return &Router{
		global:   g,
		notFound: join(g, []HandlerFunc{FromHandler(http.NotFoundHandler())}),
	}
}

// Group is a set of routes under a common path prefix that share layers.
type Group struct {
	r        *Router
	prefix   string
	handlers []HandlerFunc
}

// Group returns a group of routes under prefix whose requests go through
// the router's global layers, then layers.
func (r *Router) Group(prefix string, layers ...HandlerFunc) *Group {
	return &Group{r: r, prefix: clean(prefix), handlers: join(r.global, layers)}
}

// Group returns a sub-group under g's prefix followed by prefix.
func (g *Group) Group(prefix string, layers ...HandlerFunc) *Group {
	return &Group{r: g.r, prefix: clean(path.Join(g.prefix, prefix)), handlers: join(g.handlers, layers)}
}

// Handle registers a route for prefix: its layers, the last of which is
// normally the handler (FromHandler).
func (r *Router) Handle(prefix string, layers ...HandlerFunc) {
	r.add(clean(prefix), join(r.global, layers))
}

// Handle registers a route for g's prefix followed by prefix.
func (g *Group) Handle(prefix string, layers ...HandlerFunc) {
	g.r.add(clean(path.Join(g.prefix, prefix)), join(g.handlers, layers))
}

func (r *Router) add(prefix string, handlers []HandlerFunc) {
	if r.serving.Load() {
		panic("onion: Handle " + prefix + " after the router started serving; register every route first")
	}
	if slices.ContainsFunc(r.routes, func(rt route) bool { return rt.prefix == prefix }) {
		panic(fmt.Sprintf("onion: route %s registered twice", prefix))
	}
	r.routes = append(r.routes, route{prefix: prefix, handlers: handlers})
	slices.SortStableFunc(r.routes, func(a, b route) int { return cmp.Compare(len(b.prefix), len(a.prefix)) })
}

// join returns a new slice holding a then b. It is the whole point of this
// file: append(a, b...) would write into a's array whenever a has spare
// capacity, and two routes (or two requests) built on the same a would
// overwrite each other's layers.
func join(a, b []HandlerFunc) []HandlerFunc {
	return slices.Concat(a, b) // always a fresh array
}

// ServeHTTP runs the request through its route's layers. It records the
// route's prefix in r.Pattern, as http.ServeMux does with its patterns, so
// that logs and metrics can label requests by route, not by raw path.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if !r.serving.Load() {
		r.serving.Store(true)
	}
	for _, rt := range r.routes {
		if matches(rt.prefix, req.URL.Path) {
			req.Pattern = rt.prefix
			run(w, req, rt.handlers)
			return
		}
	}
	run(w, req, r.notFound)
}

// matches reports whether path is prefix or below it: /api matches /api and
// /api/users, not /apis.
func matches(prefix, path string) bool {
	if !strings.HasPrefix(path, prefix) {
		return false
	}
	return len(path) == len(prefix) || strings.HasSuffix(prefix, "/") || path[len(prefix)] == '/'
}

// clean makes a prefix start with a slash and, except for "/", end without one.
func clean(prefix string) string {
	return path.Clean("/" + prefix)
}
