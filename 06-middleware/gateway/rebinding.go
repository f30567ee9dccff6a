package gateway

import (
	"fmt"
	"net"
	"net/http"
	"strings"
)

// onlyAddressedToLoopback refuses, on a connection that came in on a
// loopback address, a request whose Host is not a loopback name: DNS
// rebinding. A web page the operator opens in a browser on the gateway's
// machine can point a name of its own (evil.example) at 127.0.0.1 once
// the page has loaded, and then read what the admin listener says about
// every backend (GET /admin/health, /metrics) as if from its own site:
// the browser sees one origin, and the listener sees a request from its
// own machine. Only the Host gives it away, so a listener bound to
// loopback answers only "localhost", names under ".localhost" (which
// resolve to loopback and nowhere else, RFC 6761, section 6.3) and
// loopback addresses, with 421 Misdirected Request (RFC 9110, section
// 15.5.20) otherwise. A request with no Host at all (HTTP/1.0 allows it;
// net/http refuses an HTTP/1.1 one) is answered: no browser sends one, so
// it is no rebinding. The check goes by the address each connection came
// in on, so a listener on every address checks those that came in over
// loopback. One on another address is reached by names this gateway
// cannot know, and is left to the network it is on.
func onlyAddressedToLoopback(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if local, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok && local.IP.IsLoopback() && r.Host != "" && !loopbackName(r.Host) {
			http.Error(w, fmt.Sprintf("misdirected request: the admin listener on %s answers requests for localhost, a name under .localhost or a loopback address only, not for %q", local, r.Host), http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// loopbackName reports whether host (a Host header: a name or an address,
// and perhaps a port) names this machine's loopback interface.
func loopbackName(host string) bool {
	h := hostOnly(host) // lower case, no port, no trailing dot
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"))
	return ip != nil && ip.IsLoopback()
}
