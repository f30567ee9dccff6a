package rewrite

import (
	"net/http"
	"net/url"
	"strings"
)

// relocate rewrites a Location header that points at the backend itself
// (backend: the URL the request was sent to) so that it points back
// through the proxy, as nginx's "proxy_redirect default" does, and the
// URL of a Refresh header ("5; url=...") the same way, as nginx does
// too. A backend that builds absolute redirects from its own address
// (its framework's idea of "this server") would otherwise send the
// client to an address it cannot reach, and tell it the backend's
// address on the way. The scheme and host go, so the client resolves
// what is left against the URL it asked for; base, the target's own
// path, gives way to prefix, the part of the path the proxy strips
// (StripPrefix): with prefix /api, "http://10.0.0.7:9001/login" becomes
// "/api/login".
//
// Anything else is left as sent: another host's URL, one outside base,
// and a reference without a host ("/login"), which the backend may mean
// for the whole site; nginx leaves those alone too. So is a path with a
// dot segment, which nginx's text match rewrites to one outside prefix. Every value is
// rewritten: a response with two Location fields is malformed, but a
// client that reads either must not learn the backend's address. A
// response with neither header costs two map lookups.
func relocate(h http.Header, backend *url.URL, base, prefix string) {
	if backend == nil {
		return
	}
	for n, v := range h["Location"] {
		if to, ok := relocated(v, backend, base, prefix); ok {
			h["Location"][n] = to
		}
	}
	for n, v := range h["Refresh"] {
		if i, j := refreshURL(v); i < j {
			if to, ok := relocated(v[i:j], backend, base, prefix); ok {
				h["Refresh"][n] = v[:i] + to + v[j:]
			}
		}
	}
}

// relocated is ref, a URL, as relocate rewrites it, and whether it did.
//
// A reference without a scheme but with a host ("//10.0.0.7:9001/login",
// RFC 3986 section 4.2) takes the scheme of the request the backend got,
// so it too can name the backend. The fragment is the client's: it goes
// on as sent, a "#" with nothing after it included, which tells the
// client not to carry over the fragment of the URL it asked for (RFC
// 9110, section 10.2.2). The prefix is a path as the router decoded it
// ("/a b"), escaped on its way into the URL ("/a%20b").
func relocated(ref string, backend *url.URL, base, prefix string) (string, bool) {
	ref, fragment, hasFragment := strings.Cut(ref, "#")
	if !strings.Contains(ref, "//") {
		return "", false // no host: not the backend's own address
	}
	loc, err := url.Parse(ref)
	if err != nil || loc.Host == "" || loc.User != nil || loc.Opaque != "" {
		return "", false
	}
	if loc.Scheme == "" {
		loc.Scheme = backend.Scheme
	}
	if !sameOrigin(loc, backend) {
		return "", false
	}
	if hasDotSegment(loc.Path) {
		// The client resolves "/base/../other" (or "%2e%2e") before it
		// asks: under the prefix it would climb out of the route, and
		// "..;x", which it keeps, the proxy refuses (ErrDotSegment).
		return "", false
	}
	rest, ok := strings.CutPrefix(loc.EscapedPath(), strings.TrimSuffix(base, "/"))
	if !ok || rest != "" && rest[0] != '/' {
		return "", false // outside the target's path: not something the proxy serves
	}
	if prefix = strings.TrimSuffix(prefix, "/"); prefix != "" {
		prefix = (&url.URL{Path: prefix}).EscapedPath()
	}
	path := prefix + rest
	switch {
	case path == "":
		path = "/"
	case strings.HasPrefix(path, "//"):
		return "", false // it would read as a host ("//evil.example/"): leave it
	}
	if loc.ForceQuery || loc.RawQuery != "" {
		path += "?" + loc.RawQuery
	}
	if hasFragment {
		path += "#" + fragment
	}
	return path, true
}

// refreshURL finds the URL in a Refresh header's value, "5; url=URL",
// and returns where it starts and ends (i == j: none). The delay, digits
// and dots, ends at ";", "," or a space ("5 URL" is a refresh too);
// "url=" may be in any case, with spaces around "=", or left out; the URL
// may be quoted. That is how browsers read the header (the HTML
// standard's shared declarative refresh steps).
func refreshURL(v string) (i, j int) {
	skip := func() {
		for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
			i++
		}
	}
	skip()
	for i < len(v) && ('0' <= v[i] && v[i] <= '9' || v[i] == '.') {
		i++
	}
	if i == len(v) || !strings.ContainsRune(";, \t", rune(v[i])) {
		return 0, 0 // a delay alone (reload the same page), or no refresh a browser follows
	}
	skip()
	if i < len(v) && (v[i] == ';' || v[i] == ',') {
		i++
	}
	skip()
	if len(v)-i >= 3 && strings.EqualFold(v[i:i+3], "url") {
		k := i
		i += 3
		skip()
		if i < len(v) && v[i] == '=' {
			i++
			skip()
		} else {
			i = k // a URL that starts with "url", not the key
		}
	}
	j = len(strings.TrimRight(v, " \t"))
	if i < len(v) && (v[i] == '\'' || v[i] == '"') {
		q := v[i]
		i++
		if k := strings.IndexByte(v[i:], q); k >= 0 {
			j = i + k
		}
	}
	return i, j
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
