// Package proxy is the course's first reverse proxy: the standard library's
// httputil.NewSingleHostReverseProxy in front of one backend, with the two
// things it lacks out of the box: an error page that says what went wrong,
// and a Transport tuned for a proxy's traffic.
package proxy

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
)

// New returns a reverse proxy that sends every request to target, through
// transport (nil means NewTransport()).
func New(target *url.URL, transport http.RoundTripper) *httputil.ReverseProxy {
	if transport == nil {
		transport = NewTransport()
	}
	p := httputil.NewSingleHostReverseProxy(target)
	p.Transport = transport
	p.ErrorHandler = ErrorHandler
	return p
}

// ErrorHandler answers a request the proxy could not forward with a 502 Bad
// Gateway whose body says which backend failed and why. Without it the
// client still gets a 502, but with an empty body and the reason only in
// the proxy's log.
func ErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	http.Error(w, fmt.Sprintf("bad gateway: the backend %s is unreachable: %v", r.URL.Host, err), http.StatusBadGateway)
}

// ErrBadTarget is returned by ParseTarget for a URL a proxy cannot forward to.
var ErrBadTarget = errors.New("bad target URL")

// ParseTarget parses a backend's base URL such as http://127.0.0.1:9001 and
// rejects what url.Parse accepts but a proxy cannot use: a missing scheme
// or host, or a scheme other than http or https.
func ParseTarget(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w %q: %v", ErrBadTarget, s, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%w %q: want a URL that starts with http:// or https://", ErrBadTarget, s)
	case u.Host == "":
		return nil, fmt.Errorf("%w %q: no host", ErrBadTarget, s)
	}
	return u, nil
}
