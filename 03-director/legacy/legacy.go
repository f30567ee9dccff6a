// Package legacy keeps the deprecated way of writing a reverse proxy, a
// Director function, for one purpose: to show, next to the same proxy
// written with Rewrite (package rewrite), the two flaws that got Director
// deprecated in Go 1.26. Do not copy it; the course's own proxies use
// Rewrite from this stage on.
package legacy

//lint:file-ignore SA1019 Director is used on purpose: this package shows its flaws next to Rewrite.

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"

	"github.com/gocourse/gateway/03-director/rewrite"
)

// New returns, written with a Director, the proxy that
// rewrite.New(target, rewrite.Options{Header: header, XForwarded: true})
// builds with Rewrite: the same URL joining, the target's Host, the same
// forwarding headers, the same headers dropped and added. What differs is
// only what the Director mechanism itself does, and those are the two
// flaws the ReverseProxy documentation names:
//
//   - ReverseProxy removes hop-by-hop headers after Director has run, and a
//     client makes any header hop-by-hop by listing it in its Connection
//     header: "Connection: X-Gateway" deletes the X-Gateway the Director
//     set.
//   - ReverseProxy appends the client's address to the X-Forwarded-For the
//     request already has, so it keeps one the client sent: the backend
//     sees whatever address the client made up first. (A Director can
//     delete X-Forwarded-For to avoid this, if its author knows to.)
func New(target *url.URL, header http.Header) *httputil.ReverseProxy {
	header = header.Clone()
	// NewSingleHostReverseProxy's Director points the URL at target the way
	// ProxyRequest.SetURL does: scheme and host, base paths joined, the
	// target's query first.
	p := httputil.NewSingleHostReverseProxy(target)
	pointAtTarget := p.Director //nolint:staticcheck // SA1019: deliberate, see the file-level comment

	p.Director = func(r *http.Request) { //nolint:staticcheck // SA1019: deliberate, see the file-level comment
		clientHost := r.Host
		pointAtTarget(r)
		r.Host = "" // send the target's host, as SetURL does

		// The forwarding headers the client sent, as the Rewrite version
		// drops them (but X-Forwarded-For: see the second flaw), then
		// the ones rewrite.Options sets.
		for k := range r.Header {
			if k != "X-Forwarded-For" && rewrite.Spoofable(k) {
				delete(r.Header, k)
			}
		}
		r.Header.Set("X-Forwarded-Host", clientHost)
		proto := "http"
		if r.TLS != nil {
			proto = "https"
		}
		r.Header.Set("X-Forwarded-Proto", proto)
		if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			r.Header.Set("X-Real-Ip", ip)
		}
		for k, v := range header {
			r.Header[textproto.CanonicalMIMEHeaderKey(k)] = v
		}
	}
	return p
}
