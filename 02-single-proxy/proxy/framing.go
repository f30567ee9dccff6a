package proxy

import "net/http"

// CloseDoubtfulFraming makes the server close the client's connection
// once it has answered a request whose body came chunked.
//
// A request with both Transfer-Encoding: chunked and a Content-Length is
// framed two ways. A proxy in front that goes by the Content-Length
// forwards the bytes after the last chunk as part of the body; Go's
// server goes by the chunks and, keeping the connection open, reads
// those bytes as a second request: one "smuggled" past the proxy in
// front, which never checked it. RFC 9112 (section 6.1) says a server
// MUST close the connection after answering such a request, and Go 1.26's
// server does not (TestNetHTTPServesASmuggledRequest).
//
// A handler cannot tell such a request from a plain chunked one: net/http
// deletes the Content-Length before the handler sees it. So every
// chunked request closes its connection, and its client opens another
// for the next request; beside a body sent without a length, that costs
// little. Requests with a Content-Length, nearly all of them, keep theirs.
//
// Call it first in a handler, before anything is written: it works by
// setting "Connection: close" on the answer, which net/http honours by
// closing after it.
func CloseDoubtfulFraming(w http.ResponseWriter, r *http.Request) {
	if len(r.TransferEncoding) > 0 {
		w.Header().Set("Connection", "close")
	}
}

// FramingHandler returns a handler that calls CloseDoubtfulFraming and
// then h: the handler a proxy's server should serve its clients with.
func FramingHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		CloseDoubtfulFraming(w, r)
		h.ServeHTTP(w, r)
	})
}
