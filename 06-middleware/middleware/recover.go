package middleware

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/gocourse/gateway/06-middleware/onion"
)

// Recover turns a panic further in into a 500 with a body that says what
// happened, and logs the panic with its stack: one bad request must not
// take the gateway down, nor vanish without a trace.
//
// If the response had already started, a 500 can no longer be sent; it
// aborts the response instead (the client sees a truncated reply, not a
// complete-looking one). It does not swallow http.ErrAbortHandler: that
// panic is how a handler asks the server to abort a response, so Recover
// passes it on.
//
// The 500 carries the header fields that were set when Recover began
// (none, outermost) and the gateway's own fields that layers further in
// set for every answer: X-Request-Id, and CORS's Access-Control-* and
// Vary, without which a browser page cannot read the 500. It drops the
// rest, which the handler set for the answer it did not finish: a
// Cache-Control that lets a shared cache keep the 500, a Set-Cookie, a
// Content-Encoding that the plain-text body does not have.
//
// Put it outermost, so that it also catches panics in the other layers.
func Recover(logger *slog.Logger) onion.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sw := statusOf(w)
			var before http.Header
			if len(w.Header()) > 0 { // outermost, it has none to keep: no copy
				before = w.Header().Clone()
			}
			defer func() {
				p := recover()
				if p == nil {
					return
				}
				if p == http.ErrAbortHandler {
					panic(p)
				}
				// RequestID, further in, has set it; without it, it is the
				// client's, trusted only if well formed, as RequestID would.
				id := r.Header.Get(HeaderRequestID)
				if !ValidID(id) {
					id = ""
				}
				logger.LogAttrs(r.Context(), slog.LevelError, "panic",
					slog.String("panic", fmt.Sprint(p)),
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.String("request_id", id),
					slog.String("stack", string(debug.Stack())),
				)
				if sw.headerSent() {
					panic(http.ErrAbortHandler)
				}
				keepGatewayFields(sw.Header(), before, id)
				msg := "internal server error: the gateway failed while handling this request; it has been logged"
				if id != "" {
					msg = "internal server error: the gateway failed while handling this request (request id " + id + "); it has been logged"
				}
				http.Error(sw, msg, http.StatusInternalServerError)
			}()
			next.ServeHTTP(sw, r)
		})
	}
}

// keepGatewayFields leaves in h the fields of before, the request id and
// CORS's fields, and drops the others (see Recover).
func keepGatewayFields(h, before http.Header, id string) {
	for k := range h {
		if k != "Vary" && !strings.HasPrefix(k, "Access-Control-") {
			delete(h, k)
		}
	}
	for k, v := range before {
		h[k] = v
	}
	if id != "" {
		h[HeaderRequestID] = []string{id} // one: not an upstream's beside it
	}
}
