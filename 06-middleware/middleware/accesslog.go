package middleware

import (
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gocourse/gateway/06-middleware/onion"
)

// AccessLog logs one line per request with log/slog, when the response
// has gone: method, path, status, bytes, duration, the upstream that
// served it, the request id (so put it inside RequestID), the
// authenticated client and the address the connection came from, which
// is what finds the source of a flood of 429s or 401s.
//
// It logs from a deferred call, so a request whose handler panicked is
// logged too (see outcome): as the 500 that Recover (further out) will
// send if nothing had gone out yet, else with the status sent and
// aborted=true, since the client got a response cut short. It never
// logs headers, query strings or bodies: they carry API keys and tokens.
//
// If the logger's handler is the course's *TextHandler, the line is
// written by its writeAccess, which appends the bytes Handle would write
// for the same line without building a slog.Record (see accessLine);
// any other handler gets the slog.Record.
func AccessLog(logger *slog.Logger) onion.Middleware {
	h := logger.Handler() // a Logger's handler never changes
	text, _ := h.(*TextHandler)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r, c := recordOf(r)
			rec := &c.rec
			sw := c.statusFor(w)
			returned := false
			defer func() {
				status, aborted := outcome(sw, returned)
				if !h.Enabled(r.Context(), slog.LevelInfo) {
					return
				}
				end := c.finish()
				line := accessLine{
					method: r.Method, path: r.URL.Path, status: status, bytes: sw.bytes,
					duration: end.Sub(c.start), upstream: rec.Upstream, id: rec.ID, client: rec.Client,
					remote: remoteIP(r.RemoteAddr), aborted: aborted,
				}
				if text != nil {
					text.writeAccess(end, &line)
					return
				}
				h.Handle(r.Context(), line.record(end))
			}()
			next.ServeHTTP(sw, r)
			returned = true
		})
	}
}

// accessLine is what an access log line says about a request.
type accessLine struct {
	method, path string
	status       int
	bytes        int64
	duration     time.Duration
	upstream, id string
	client       string
	remote       string // the connection's address, without its port
	aborted      bool   // the response was cut short: written only when true
}

// remoteIP is the IP address of a request's RemoteAddr ("192.0.2.1:5000",
// "[2001:db8::1]:5000"), as nginx's $remote_addr logs it; RemoteAddr
// whole if it has no port. It slices RemoteAddr: no allocation.
func remoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// outcome is what the access log and the metrics report for a request
// whose handler returned normally (returned) or not. A handler that did
// not (it panicked, or a proxy aborted with http.ErrAbortHandler when its
// upstream died mid-body) gets Recover's 500 if nothing had gone out;
// if the header had gone out, the client got that status and then a
// connection cut: the status sent, and aborted.
func outcome(sw *statusWriter, returned bool) (status int, aborted bool) {
	switch {
	case returned:
		return sw.Status(), false
	case sw.headerSent():
		return sw.Status(), true
	default:
		return http.StatusInternalServerError, false
	}
}

// accessMessage is the message of every access log line.
const accessMessage = "request"

// record returns the line as a slog.Record, for any slog.Handler. It is
// made here, rather than by logger.LogAttrs, to skip looking up the
// caller's source line on every request. Its nine attributes are more
// than the five a Record holds in place: AddAttrs allocates room for the
// others, one of the costs TextHandler.writeAccess avoids.
func (l *accessLine) record(t time.Time) slog.Record {
	r := slog.NewRecord(t, slog.LevelInfo, accessMessage, 0)
	r.AddAttrs(
		slog.String("method", l.method),
		slog.String("path", l.path),
		slog.Int("status", l.status),
		slog.Int64("bytes", l.bytes),
		slog.Duration("duration", l.duration),
		slog.String("upstream", l.upstream),
		slog.String("request_id", l.id),
		slog.String("client", l.client),
		slog.String("remote_addr", l.remote),
	)
	if l.aborted {
		r.AddAttrs(slog.Bool("aborted", true))
	}
	return r
}
