package rewrite

import (
	"net/http"
	"net/url"
	"strings"
)

// relocate rewrites a Location header that points at the backend itself
// (backend: the URL the request was sent to) so that it points back
// through the proxy, as nginx's "proxy_redirect default" does. A backend
// that builds absolute redirects from its own address (its framework's
// idea of "this server") would otherwise send the client to an address
// it cannot reach, and tell it the backend's address on the way. The
// scheme and host go, so the client resolves what is left against the
// URL it asked for; base, the target's own path, gives way to prefix,
// the part of the path the proxy strips (StripPrefix): with prefix
// /api, "http://10.0.0.7:9001/login" becomes "/api/login".
//
// Anything else is left as sent: another host's URL, one outside base,
// and a reference without a host ("/login"), which the backend may mean
// for the whole site; nginx leaves those alone too. A response with no
// Location costs one map lookup.
func relocate(h http.Header, backend *url.URL, base, prefix string) {
	v := h["Location"]
	if len(v) != 1 || backend == nil || !strings.Contains(v[0], "://") {
		return
	}
	loc, err := url.Parse(v[0])
	if err != nil || loc.User != nil || loc.Opaque != "" || !sameOrigin(loc, backend) {
		return
	}
	rest, ok := strings.CutPrefix(loc.EscapedPath(), strings.TrimSuffix(base, "/"))
	if !ok || rest != "" && rest[0] != '/' {
		return // outside the target's path: not something the proxy serves
	}
	path := strings.TrimSuffix(prefix, "/") + rest
	switch {
	case path == "":
		path = "/"
	case strings.HasPrefix(path, "//"):
		return // it would read as a host ("//evil.example/"): leave it
	}
	if loc.ForceQuery || loc.RawQuery != "" {
		path += "?" + loc.RawQuery
	}
	if loc.Fragment != "" {
		path += "#" + loc.EscapedFragment()
	}
	h["Location"] = []string{path}
}

// sameOrigin reports whether a and b have the same scheme, host and port,
// a port left out being the scheme's default (RFC 9110, section 4.3.2).
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) &&
		portOf(a) == portOf(b)
}

// portOf is u's port, or its scheme's default one.
func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https", "wss":
		return "443"
	default:
		return "80"
	}
}
