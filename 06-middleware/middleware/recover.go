package middleware

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

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
// Put it outermost, so that it also catches panics in the other layers.
func Recover(logger *slog.Logger) onion.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sw := statusOf(w)
			defer func() {
				p := recover()
				if p == nil {
					return
				}
				if p == http.ErrAbortHandler {
					panic(p)
				}
				id := r.Header.Get(HeaderRequestID) // RequestID, further in, has set it
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
				http.Error(sw, "internal server error: the gateway failed while handling this request (request id "+id+"); it has been logged", http.StatusInternalServerError)
			}()
			next.ServeHTTP(sw, r)
		})
	}
}
