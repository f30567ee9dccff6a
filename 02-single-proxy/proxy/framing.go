package proxy

import "net/http"

// CloseDoubtfulFraming makes the server close the client's connection
// once it has answered a request whose framing a proxy in front may have
// read differently: one whose body came chunked, and any HTTP/1.0 request.
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
// HTTP/1.0 has no chunked encoding, so net/http ignores a
// Transfer-Encoding on an HTTP/1.0 request: it deletes the header, reads
// the body by the Content-Length or not at all, and reads the rest as the
// next request when the client asked to keep the connection
// (Connection: keep-alive). RFC 9112, section 6.1, says such framing is
// faulty: close after answering. A handler cannot tell, as the header is
// gone (TestNetHTTPDeletesATransferEncodingOnHTTP10Unseen), so every
// HTTP/1.0 request closes its connection. That costs the
// few clients that keep HTTP/1.0 connections alive (ApacheBench's -k) a
// connection per request; an HTTP/1.0 client that did not ask to keep
// its connection loses nothing.
//
// Call it first in a handler, before anything is written: it works by
// setting "Connection: close" on the answer, which net/http honours by
// closing after it. A handler that clears the header after a 1xx, as
// httputil.ReverseProxy does once it has passed a backend's 103 on,
// clears that too: use FramingHandler, which sets it again.
func CloseDoubtfulFraming(w http.ResponseWriter, r *http.Request) {
	if doubtful(r) {
		w.Header().Set("Connection", "close")
	}
}

// doubtful reports whether r's framing is one CloseDoubtfulFraming
// closes after.
func doubtful(r *http.Request) bool {
	return len(r.TransferEncoding) > 0 || !r.ProtoAtLeast(1, 1)
}

// FramingHandler returns a handler that calls CloseDoubtfulFraming and
// then h: the handler a proxy's server should serve its clients with.
// The answer to such a request says Connection: close even after a 1xx
// whose sender cleared the header (closingWriter).
func FramingHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if doubtful(r) {
			CloseDoubtfulFraming(w, r)
			w = &closingWriter{ResponseWriter: w}
		}
		h.ServeHTTP(w, r)
	})
}

// closingWriter sets Connection: close on the final answer, whatever
// happened to the header before it: httputil.ReverseProxy clears the
// header after passing a backend's 1xx on, and the answer that followed
// kept the connection, and served the request smuggled after the body.
type closingWriter struct {
	http.ResponseWriter
	answered bool // the final status is written: the header is sent
}

func (w *closingWriter) WriteHeader(code int) {
	if !w.answered && code >= http.StatusOK {
		w.Header().Set("Connection", "close")
	}
	w.answered = w.answered || code >= http.StatusOK || code == http.StatusSwitchingProtocols
	w.ResponseWriter.WriteHeader(code)
}

func (w *closingWriter) Write(p []byte) (int, error) {
	if !w.answered { // a Write without WriteHeader: a 200
		w.answered = true
		w.Header().Set("Connection", "close")
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController, with which ReverseProxy flushes
// and hijacks, reach the server's writer.
func (w *closingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
