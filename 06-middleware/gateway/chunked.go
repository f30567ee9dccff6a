package gateway

import "net/http"

// closeAfterChunked makes the server close the client's connection once
// it has answered a request whose body came chunked. RFC 9112 (section
// 6.1) says a server MUST close the connection after answering a request
// with both Transfer-Encoding and Content-Length: a proxy in front that
// framed it by its Content-Length took the bytes after the last chunk
// for part of that body, and they are a second request, "smuggled" past
// it, which this gateway would serve on the same connection (net/http,
// Go 1.26, keeps it open: TestAChunkedRequestClosesItsConnection). A
// handler cannot tell such a request from a plain chunked one, because
// net/http deletes the Content-Length before the handler sees the
// request, so every chunked request closes its connection: its client
// opens another for its next request, which, beside a body sent without
// a length, costs little. Requests with a Content-Length, nearly all of
// them, keep theirs.
func closeAfterChunked(w http.ResponseWriter, r *http.Request) {
	if len(r.TransferEncoding) > 0 {
		w.Header().Set("Connection", "close") // net/http closes after the answer
	}
}
