package middleware

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/gocourse/gateway/06-middleware/onion"
)

// MaxBody answers 413 Content Too Large to a request whose body is longer
// than limit bytes, before the upstream sees any of it when the client
// declared the length (Content-Length). A chunked body of unknown length
// is cut off where it passes the limit (http.MaxBytesReader), and the
// response becomes a 413, which closes the connection, if the handler has
// not answered yet. (MaxBytesReader closes it itself only when given the
// server's own writer, which a layer further out has wrapped: the 413
// says "Connection: close" instead.)
//
// A proxy further in should map an *http.MaxBytesError from its transport
// to 413 as well; this layer does it for any handler.
func MaxBody(limit int64) onion.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > limit {
				tooLarge(w, r, limit)
				return
			}
			if r.Body == nil || r.Body == http.NoBody || r.ContentLength >= 0 {
				// No body, or a declared length within the limit: the
				// server never reads past Content-Length.
				next.ServeHTTP(w, r)
				return
			}
			body := &limitedBody{ReadCloser: http.MaxBytesReader(w, r.Body, limit)}
			r2 := *r
			r2.Body = body
			rw := newRefusingWriter(w, body.hit.Load, func(w http.ResponseWriter) { tooLarge(w, r, limit) }, nil)
			next.ServeHTTP(rw, &r2)
			rw.finish() // a 413, if the handler wrote nothing for a body past the limit
		})
	}
}

func tooLarge(w http.ResponseWriter, r *http.Request, limit int64) {
	closeAfter(w, r) // the rest of the body is not worth reading
	http.Error(w, fmt.Sprintf("content too large: the limit is %d bytes", limit), http.StatusRequestEntityTooLarge)
}

// limitedBody remembers that the limit was hit.
type limitedBody struct {
	io.ReadCloser
	hit atomic.Bool // written by whoever reads the body (a transport), read by the handler
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		b.hit.Store(true)
	}
	return n, err
}

// closeAfter asks an HTTP/1 server to close the connection after this
// answer, so that it does not read the rest of a body nobody will use.
// Not over HTTP/2, where "Connection: close" shuts the whole connection,
// every other stream on it included, and a stream's unread body costs
// nothing to leave.
func closeAfter(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 1 {
		w.Header().Set("Connection", "close")
	}
}
