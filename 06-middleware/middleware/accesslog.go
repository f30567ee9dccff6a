package middleware

import (
	"log/slog"
	"net/http"

	"github.com/gocourse/gateway/06-middleware/onion"
)

// AccessLog logs one line per request with log/slog, when the response
// has gone: method, path, status, bytes, duration, the upstream that
// served it and the request id (so put it inside RequestID).
//
// It logs from a deferred call, so a request whose handler panicked is
// logged too, as the 500 that Recover (further out) will send. It never
// logs headers, query strings or bodies: they carry API keys and tokens.
func AccessLog(logger *slog.Logger) onion.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r, c := recordOf(r)
			rec := &c.rec
			sw := statusOf(w)
			returned := false
			defer func() {
				status := sw.Status()
				if !returned && !sw.headerSent() {
					status = http.StatusInternalServerError // panicking
				}
				h := logger.Handler()
				if !h.Enabled(r.Context(), slog.LevelInfo) {
					return
				}
				// A Record made here, rather than logger.LogAttrs, skips
				// looking up the caller's source line on every request.
				end := c.finish()
				line := slog.NewRecord(end, slog.LevelInfo, "request", 0)
				line.AddAttrs(
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.Int("status", status),
					slog.Int64("bytes", sw.bytes),
					slog.Duration("duration", end.Sub(c.start)),
					slog.String("upstream", rec.Upstream),
					slog.String("request_id", rec.ID),
					slog.String("client", rec.Client),
				)
				h.Handle(r.Context(), line)
			}()
			next.ServeHTTP(sw, r)
			returned = true
		})
	}
}
