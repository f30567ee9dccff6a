package direct

import (
	"net/http"
	"net/http/httptrace"
	"net/textproto"

	"github.com/gocourse/gateway/03-director/rewrite"
)

// A 1xx (103 Early Hints) is handed to the request's
// httptrace.ClientTrace without its hop-by-hop fields: Connection, the
// fields it names, and those RFC 9110 (section 7.6.1) and
// httputil.ReverseProxy count as hop-by-hop everywhere (Keep-Alive,
// Upgrade, ...). httputil.ReverseProxy's Got1xxResponse forwards a 1xx
// to its client as it gets it, removing none: it removes them from the
// final answer only. So "Connection: X-Internal" and "X-Internal: ..."
// on a backend's 103, meant for the gateway, went on to the client,
// which a proxy must not do (the same section). Chapter 03's proxy
// removes them since (rewrite.DropHopByHop, from its writer); this
// transport does too, for any other proxy that listens for 1xx: the
// direct path removes them before it calls the trace (exchange), and a
// request for Fallback gets a trace of its own that removes them before
// the trace it came with sees them (informing).

// informing returns req with a trace that drops the hop-by-hop fields of
// each 1xx before the trace req came with sees it (httptrace calls a
// trace's hooks before those of the trace it was added to), or req itself
// when nothing listens for a 1xx: the trace costs a few allocations,
// which only the requests for Fallback pay, and only when a proxy listens.
func informing(req *http.Request) *http.Request {
	trace := httptrace.ContextClientTrace(req.Context())
	if trace == nil || trace.Got1xxResponse == nil {
		return req
	}
	return req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		Got1xxResponse: func(_ int, h textproto.MIMEHeader) error {
			rewrite.DropHopByHop(http.Header(h))
			return nil
		},
	}))
}
