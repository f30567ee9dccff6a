// Package proxy is the course's first reverse proxy: the standard library's
// httputil.NewSingleHostReverseProxy in front of one backend, with the two
// things it lacks out of the box: an error page that says what went wrong,
// and a Transport tuned for a proxy's traffic.
package proxy

import (
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

// New returns a reverse proxy that sends every request to target, through
// transport (nil means NewTransport()).
//
// The request's path is joined to the target's path and the target's query
// is put before the request's: with target http://b/base?k=1, a request for
// /echo?x=2 goes to http://b/base/echo?k=1&x=2. The Host header is left as
// the client sent it, and the client's address is appended to
// X-Forwarded-For: see the chapter for what that means and costs.
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
// Gateway whose body says which backend failed and why, and logs the same.
//
// It must write a status: a handler that only logs leaves the client with
// an empty 200 OK, a success that is not one. The default handler (a nil
// ReverseProxy.ErrorHandler) does send a 502, but with an empty body, so
// the reason is only in the proxy's log.
//
// The reason includes the transport's error text, which names addresses of
// the internal network: helpful while learning, too chatty for a gateway
// on the internet (chapter 03 adds rewrite.Options.HideBackend for that).
func ErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	// r is mostly the outgoing request, whose URL.Host the Director set to
	// the backend's. But when ReverseProxy refuses a request before
	// sending it (its Upgrade header names an invalid protocol), r is the
	// client's: its URL.Host is empty, or the host the client wrote in an
	// absolute-form request line (GET http://db:5432/ HTTP/1.1). That one
	// is told by what it was refused for, not by its Host: a proxy that
	// sends the backend its own Host makes r.Host equal to URL.Host on
	// every failure.
	host := r.URL.Host
	if refusedUpgrade(r.Header) {
		host = ""
	}
	backend := "the backend"
	if host != "" {
		backend += " " + host
	}
	slog.Warn("proxy: cannot forward", "method", r.Method, "path", r.URL.Path, "backend", host, "err", err)
	http.Error(w, "bad gateway: "+backend+" is unreachable: "+err.Error(), http.StatusBadGateway)
}

// refusedUpgrade reports whether a request with header h is one
// ReverseProxy refuses before sending it: its Connection header lists
// "upgrade" and its Upgrade header names a protocol that is not printable
// ASCII (the check in httputil.ReverseProxy.ServeHTTP). A request that was
// sent never looks like this: ReverseProxy removes the client's Connection
// header, and puts back only a printable Upgrade.
func refusedUpgrade(h http.Header) bool {
	upgrade := false
	for _, v := range h["Connection"] {
		for token := range strings.SplitSeq(v, ",") {
			upgrade = upgrade || strings.EqualFold(strings.TrimSpace(token), "upgrade")
		}
	}
	return upgrade && strings.ContainsFunc(h.Get("Upgrade"), func(c rune) bool { return c < ' ' || c > '~' })
}
