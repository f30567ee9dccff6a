// Package legacy keeps the deprecated way of writing a reverse proxy, a
// Director function, for one purpose: to show, next to the same proxy
// written with Rewrite (package rewrite), the two flaws that got Director
// deprecated in Go 1.26. Do not copy it; every other proxy in the course
// uses Rewrite.
package legacy

//lint:file-ignore SA1019 Director is used on purpose: this package shows its flaws next to Rewrite.

import (
	"net/http"
	"net/http/httputil"
	"net/url"
)

// New returns a proxy to target that adds header to every request, written
// with a Director. It has both flaws the ReverseProxy documentation names:
//
//   - ReverseProxy removes hop-by-hop headers after Director has run, and a
//     client makes any header hop-by-hop by listing it in its Connection
//     header: "Connection: X-Gateway" deletes the X-Gateway the Director
//     set.
//   - A client's X-Forwarded-For is kept, and the proxy appends the real
//     address after it: the backend sees whatever address the client made
//     up first.
func New(target *url.URL, header http.Header) *httputil.ReverseProxy {
	header = header.Clone()
	return &httputil.ReverseProxy{
		Director: func(r *http.Request) { //nolint:staticcheck // SA1019: deliberate, see the file-level comment
			r.URL.Scheme = target.Scheme
			r.URL.Host = target.Host
			r.Host = "" // send the target's host, as rewrite.New does
			for k, v := range header {
				r.Header[k] = v
			}
		},
	}
}
