package rewrite

import (
	"net"
	"net/http/httputil"
	"net/url"
	"strings"
)

// SpoofableHeaders name the client that a backend may trust. Rewrite has
// already dropped Forwarded and X-Forwarded-For, -Host and -Proto from the
// outgoing request; these are the others in common use, dropped too, so
// only the gateway decides what a backend is told about the client.
var SpoofableHeaders = []string{"X-Real-Ip", "X-Forwarded-Port", "X-Forwarded-Prefix", "True-Client-Ip"}

// rewrite turns the client's request (pr.In) into the backend's (pr.Out).
// Hop-by-hop headers are gone from pr.Out before it runs, so nothing set
// here can be removed by a client's Connection header.
func (o Options) rewrite(pr *httputil.ProxyRequest) {
	target := pr.In.Context().Value(targetKey{}).(*url.URL)

	// URL: strip the route prefix, then join with the target's base path
	// and merge the target's query with the client's (SetURL does both).
	if o.StripPrefix != "" {
		pr.Out.URL.Path = stripPrefix(pr.Out.URL.Path, o.StripPrefix)
		pr.Out.URL.RawPath = stripPrefix(pr.Out.URL.RawPath, o.StripPrefix)
	}
	pr.SetURL(target) // also sets pr.Out.Host to "": the target's host
	if o.PreserveHost {
		pr.Out.Host = pr.In.Host
	}

	// Headers: what a backend learns about the client comes from the
	// gateway, never from the client.
	for _, h := range SpoofableHeaders {
		pr.Out.Header.Del(h)
	}
	if o.XForwarded {
		pr.SetXForwarded()
		if ip, _, err := net.SplitHostPort(pr.In.RemoteAddr); err == nil {
			pr.Out.Header.Set("X-Real-Ip", ip)
		}
	}
	for k, v := range o.Header {
		pr.Out.Header[k] = v // shared, but Clone left no room to append in place
	}
}

// stripPrefix removes prefix from path at a segment boundary: with prefix
// /api, /api/users becomes /users and /api becomes /, but /apiary is left
// alone.
func stripPrefix(path, prefix string) string {
	prefix = strings.TrimSuffix(prefix, "/")
	rest, ok := strings.CutPrefix(path, prefix)
	switch {
	case !ok || path == "":
		return path
	case rest == "":
		return "/"
	case rest[0] != '/':
		return path
	}
	return rest
}
