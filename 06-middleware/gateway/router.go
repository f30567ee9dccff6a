package gateway

import (
	"cmp"
	"net"
	"net/http"
	"slices"
	"strings"
)

// router chooses a request's route. The precedence rule:
//
//  1. The host decides first. Routes for the request's exact host name
//     are tried first, then wildcard routes (*.example.com) from the
//     longest suffix to the shortest, then routes for any host. The first
//     of these groups with a route matching the path wins.
//  2. Within a group, the longest path prefix wins. Prefixes match whole
//     segments: /api matches /api and /api/users, never /apiary.
//
// So a route for api.example.com /v1 beats one for any host /v1/users,
// and the order of routes in the file never matters: a duplicate (same
// host, same path) is an error when the file is loaded.
type router struct {
	exact    map[string][]*route // by host
	wildcard []hostRoutes        // longest suffix first
	any      []*route
}

type hostRoutes struct {
	suffix string // ".example.com" for *.example.com
	routes []*route
}

func newRouter(routes []*route) *router {
	rt := &router{exact: map[string][]*route{}}
	wild := map[string][]*route{}
	for _, r := range routes {
		switch h := r.cfg.Host; {
		case h == "":
			rt.any = append(rt.any, r)
		case strings.HasPrefix(h, "*."):
			wild[h[1:]] = append(wild[h[1:]], r)
		default:
			rt.exact[h] = append(rt.exact[h], r)
		}
	}
	for suffix, rs := range wild {
		rt.wildcard = append(rt.wildcard, hostRoutes{suffix, byPrefix(rs)})
	}
	slices.SortFunc(rt.wildcard, func(a, b hostRoutes) int { return cmp.Compare(len(b.suffix), len(a.suffix)) })
	for h, rs := range rt.exact {
		rt.exact[h] = byPrefix(rs)
	}
	rt.any = byPrefix(rt.any)
	return rt
}

// byPrefix sorts routes longest path first, so the first match is the
// longest.
func byPrefix(rs []*route) []*route {
	slices.SortFunc(rs, func(a, b *route) int { return cmp.Compare(len(b.cfg.Path), len(a.cfg.Path)) })
	return rs
}

// match returns the route for r, or nil.
func (rt *router) match(r *http.Request) *route {
	host := hostOnly(r.Host)
	path := r.URL.Path
	if rs, ok := rt.exact[host]; ok {
		if m := matchPath(rs, path); m != nil {
			return m
		}
	}
	for _, w := range rt.wildcard {
		if len(host) > len(w.suffix) && strings.HasSuffix(host, w.suffix) {
			if m := matchPath(w.routes, path); m != nil {
				return m
			}
		}
	}
	return matchPath(rt.any, path)
}

func matchPath(rs []*route, path string) *route {
	for _, r := range rs {
		if prefixMatches(r.cfg.Path, path) {
			return r
		}
	}
	return nil
}

// prefixMatches reports whether prefix (no trailing slash, or "/") covers
// path at a segment boundary.
func prefixMatches(prefix, path string) bool {
	if prefix == "/" {
		return true
	}
	rest, ok := strings.CutPrefix(path, prefix)
	return ok && (rest == "" || rest[0] == '/')
}

// hostOnly lowers the case of a Host header and drops its port. It
// allocates only when the host has upper-case letters.
func hostOnly(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		if host, _, err := net.SplitHostPort(h); err == nil {
			h = host
		}
	}
	for i := range len(h) {
		if 'A' <= h[i] && h[i] <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}
