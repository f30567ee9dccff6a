package gateway

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gocourse/gateway/06-middleware/middleware"
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
//
// Paths are matched in their normal form, because the backends behind a
// route may normalise them, and a route chosen on the raw path would
// then not be the route whose path the backend serves: "//admin/users"
// is "/admin/users" to many servers, and if it fell to the route for "/"
// it would skip the auth of the route for "/admin". So repeated slashes
// count as one when matching (the path is still forwarded as sent: to
// an object store "a//b" and "a/b" may be different keys), and a path
// with a "." or ".." segment is refused before routing (Gateway.ServeHTTP):
// clients resolve those themselves, and "/public/../admin" must not be
// matched as /public. nginx does the same for its location matching
// (merge_slashes, on by default, and its URI normalisation). Two more
// readings, of servers nginx is often put in front of, count too: a
// backslash is a slash (IIS), and a segment ends at its ';' (Tomcat
// serves "/admin;x/users" as /admin/users): see routePath.
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
	path := routePath(r.URL)
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

// routePath is the path routes are matched against: middleware.RoutePath,
// which the cache files its answers by too, so that a write drops what
// every spelling of its path kept.
func routePath(u *url.URL) string { return middleware.RoutePath(u) }

// normalPath is middleware.NormalPath.
func normalPath(path string, params bool) string { return middleware.NormalPath(path, params) }

// dotSegmentIn reports whether u's path has a "." or ".." segment, and
// which, as either kind of server reads it: one that drops ";parameters"
// before decoding (routePath: "/public/..;/admin"), or one that decodes
// first, to which "/public/;%2F..%2F../admin" is /admin (the normal form
// of URL.Path, which keeps every dot segment the decoded path has).
func dotSegmentIn(u *url.URL) (string, bool) {
	if seg, ok := dotSegment(routePath(u)); ok {
		return seg, ok
	}
	if u.RawPath == "" {
		return "", false // routePath read URL.Path
	}
	return dotSegment(normalPath(u.Path, true))
}

// dotSegment reports whether path (decoded, so that "%2e%2e" is ".."
// too, and in normal form, routePath's, so that "..;" and "..\" are too)
// has a "." or ".." segment, and which.
func dotSegment(path string) (string, bool) {
	for seg := range strings.SplitSeq(path, "/") {
		if seg == "." || seg == ".." {
			return seg, true
		}
	}
	return "", false
}

// hostOnly returns a Host header in the form routes are written: lower
// case, without its port, without a fully qualified name's trailing dot.
// Like the path, the host is matched as a backend may read it: to DNS,
// and to nginx, "secure.test." is secure.test, and nginx (like any
// server that reads up to the first colon) takes "secure.test:80:80" for
// secure.test too. Matched as sent, both would fall to the routes for
// any host and skip the auth of secure.test's. So the host ends at the
// first colon (an IPv6 literal at its "]"), and trailing dots go. It
// allocates only when the host has upper-case letters.
func hostOnly(h string) string {
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i >= 0 {
			h = h[:i+1]
		}
	} else if i := strings.IndexByte(h, ':'); i >= 0 {
		h = h[:i]
	}
	h = strings.TrimRight(h, ".")
	for i := range len(h) {
		if 'A' <= h[i] && h[i] <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}
