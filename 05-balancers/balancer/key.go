package balancer

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/textproto"
	"strings"
)

// Key extracts from a request the key a hash balancer maps to a backend.
type Key func(r *http.Request) string

// ErrBadKey is returned by ParseKey for a specification it does not know.
var ErrBadKey = errors.New("bad key")

// ParseKey returns the Key that spec names, for configuration and flags:
//
//	ip           the client's IP address (from the connection, not from
//	             X-Forwarded-For, which any client can forge)
//	path         the URL path
//	header:NAME  the value of request header NAME (header:Host is r.Host)
//	cookie:NAME  the value of cookie NAME
//	none, ""     no key: every request has the empty key
func ParseKey(spec string) (Key, error) {
	kind, name, _ := strings.Cut(spec, ":")
	switch {
	case spec == "" || spec == "none":
		return func(*http.Request) string { return "" }, nil
	case spec == "ip":
		return clientIP, nil
	case spec == "path":
		return func(r *http.Request) string { return r.URL.Path }, nil
	case kind == "header" && name != "":
		canonical := textproto.CanonicalMIMEHeaderKey(name)
		if canonical == "Host" {
			// net/http moves Host out of r.Header into r.Host.
			return func(r *http.Request) string { return r.Host }, nil
		}
		return func(r *http.Request) string { return r.Header.Get(canonical) }, nil
	case kind == "cookie" && name != "":
		return func(r *http.Request) string {
			c, err := r.Cookie(name)
			if err != nil {
				return ""
			}
			return c.Value
		}, nil
	}
	return nil, fmt.Errorf("%w %q: want ip, path, header:NAME, cookie:NAME or none", ErrBadKey, spec)
}

// clientIP returns the IP address part of r.RemoteAddr.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
