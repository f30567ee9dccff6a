package middleware

import (
	"net/url"
	"strings"
)

// RoutePath returns the path of u in the form chapter 06's gateway
// matches routes against: decoded, as URL.Path, but with each segment's
// ";parameters" dropped from the path as sent (URL.RawPath, when the
// client's escapes differ from URL.Path's), before decoding. Tomcat reads
// it so (CoyoteAdapter.postParseRequest drops them, then decodes): an
// encoded slash inside them goes with them, "/;%2Fpublic/admin" is
// /admin, and "%3B" is no ';' to it, "/admin%3Bx" no /admin. Dropped
// after decoding, the first would be matched as /public/admin. It
// allocates only when there is something to change. Cache reads paths
// this way too, beside the decoded reading (see oneReading), so that a
// write drops what every spelling of its path kept: one function, so
// that the two readings cannot drift apart.
func RoutePath(u *url.URL) string {
	if u.RawPath == "" || strings.IndexByte(u.Path, ';') < 0 {
		// Sent as URL.Path escapes it (its ';' are the client's), or
		// with no ';', encoded or not.
		return NormalPath(u.Path, true)
	}
	p, err := url.PathUnescape(NormalPath(u.RawPath, true))
	if err != nil { // not from a server: it refuses such a path with 400
		return NormalPath(u.Path, true)
	}
	return NormalPath(p, false) // its ';' are the decoded "%3B"
}

// NormalPath returns path with each backslash a slash (Windows servers,
// IIS among them, read it so) and each run of slashes made one; with
// params, each segment's ";parameters" are dropped too (Tomcat and Jetty
// serve /admin;x/users as /admin/users, and /public/..;/admin as
// /admin). It allocates only when there is something to change.
func NormalPath(path string, params bool) string {
	if !strings.Contains(path, "//") && strings.IndexAny(path, `;\`) < 0 {
		return path
	}
	b := make([]byte, 0, len(path))
	param := false // in a segment's parameters, after its ';'
	for i := range len(path) {
		c := path[i]
		if c == '\\' {
			c = '/'
		}
		switch {
		case c == '/':
			param = false
			if len(b) > 0 && b[len(b)-1] == '/' {
				continue
			}
		case param:
			continue
		case c == ';' && params:
			param = true
			continue
		}
		b = append(b, c)
	}
	return string(b)
}

// HasEscape reports whether s has a '%' followed by two hex digits: a
// %-escape. A route's path and an allowed prefix are compared with the
// request's path decoded, so one written with an escape ("/a%20b") would
// match only a request that sent the escape escaped ("/a%2520b"); the
// configuration refuses them. A '%' that starts no escape ("/100%") is
// the character itself, and matches a request for "/100%25".
func HasEscape(s string) bool {
	for i := 0; i+2 < len(s); i++ {
		if s[i] == '%' && isHex(s[i+1]) && isHex(s[i+2]) {
			return true
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
