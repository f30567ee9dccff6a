package middleware

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/gocourse/gateway/06-middleware/onion"
)

// Timeout gives each request a deadline d from now. The request's context
// carries it, so the proxy's upstream request is cancelled when it passes
// (the upstream sees its client go away), and the client gets a 504
// Gateway Timeout instead of whatever error the handler then produces.
//
// The handler runs in the request's own goroutine, and the 504 is written
// when it returns: this relies on the handler honouring its context, as
// httputil.ReverseProxy does. Unlike http.TimeoutHandler it does not
// buffer the response, so streams still stream; but a stream that outlives
// d is cut there: give streaming routes a longer deadline, or none.
func Timeout(d time.Duration) onion.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			tw := &timeoutWriter{ResponseWriter: w, ctx: ctx}
			tw.before.save(w.Header())
			next.ServeHTTP(tw, r.WithContext(ctx))
			if !tw.wroteHeader && expired(ctx) {
				tw.WriteHeader(http.StatusGatewayTimeout) // the handler gave up without a word
			}
		})
	}
}

func expired(ctx context.Context) bool { return errors.Is(ctx.Err(), context.DeadlineExceeded) }

// timeoutWriter replaces the response of a handler that answers after the
// deadline (a proxy's 502 "context deadline exceeded", say) with a 504,
// which keeps the header fields set when the layer began and drops the
// handler's.
type timeoutWriter struct {
	http.ResponseWriter
	ctx         context.Context
	before      savedHeader // the header when the layer began
	wroteHeader bool
	timedOut    bool // the 504 went out: the handler's body is dropped
}

func (w *timeoutWriter) WriteHeader(code int) {
	if w.wroteHeader || code < 200 {
		if !w.timedOut {
			w.ResponseWriter.WriteHeader(code)
		}
		return
	}
	w.wroteHeader = true
	if expired(w.ctx) {
		w.timedOut = true
		// The fields set further out (a request id) stay, the handler's
		// go, as on refusingWriter's refusals: a Set-Cookie, a
		// Cache-Control or a Content-Length were for its own answer.
		h := w.Header()
		w.before.restore(h)
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		w.ResponseWriter.WriteHeader(http.StatusGatewayTimeout)
		w.ResponseWriter.Write([]byte("gateway timeout: the upstream did not answer in time\n"))
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *timeoutWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.timedOut {
		return 0, http.ErrHandlerTimeout
	}
	return w.ResponseWriter.Write(p)
}

// FlushError sends the answer so far. A stream flushed before anything was
// written goes through WriteHeader first, as one written is: from then on
// the 200 has gone, and a deadline passing later cuts the stream rather
// than appending a 504 to it. (Without this method http.ResponseController
// would reach the server's writer past this one, and send the 200 behind
// its back.)
func (w *timeoutWriter) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.timedOut {
		return http.ErrHandlerTimeout
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush is FlushError for a handler that asks for an http.Flusher.
func (w *timeoutWriter) Flush() { _ = w.FlushError() }

// Hijack hands the connection over (see http.ResponseController). The
// handler answers on it itself, so the layer has nothing to write when the
// deadline passes: the handler's context ends, which cuts a proxied
// WebSocket, and that is all. Once the deadline has passed, the answer is
// the 504, as for a Write, and the connection stays the server's.
func (w *timeoutWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.wroteHeader && expired(w.ctx) {
		w.WriteHeader(http.StatusOK) // becomes the 504
	}
	if w.timedOut {
		return nil, nil, http.ErrHandlerTimeout
	}
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.wroteHeader = true
	}
	return conn, rw, err
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *timeoutWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// savedHeader keeps a header's fields as they were, for a layer that may
// have to answer with them alone. A few fields (a request id, a Vary: the
// usual case) are kept in place, without allocating; more are cloned.
// The value slices are shared, not copied: a handler replaces a field's
// slice (Set) or appends past its end (Add), and neither changes the
// values saved.
type savedHeader struct {
	n      int
	fields [4]struct {
		key    string
		values []string
	}
	more http.Header // when there are more than len(fields)
}

func (s *savedHeader) save(h http.Header) {
	if len(h) > len(s.fields) {
		s.more = h.Clone()
		return
	}
	for k, v := range h {
		s.fields[s.n].key, s.fields[s.n].values = k, v
		s.n++
	}
}

// restore makes h the saved header again.
func (s *savedHeader) restore(h http.Header) {
	clear(h)
	for k, v := range s.more {
		h[k] = v
	}
	for _, f := range s.fields[:s.n] {
		h[f.key] = f.values
	}
}

// get returns the values saved for key, canonical.
func (s *savedHeader) get(key string) ([]string, bool) {
	if s.more != nil {
		v, ok := s.more[key]
		return v, ok
	}
	for _, f := range s.fields[:s.n] {
		if f.key == key {
			return f.values, true
		}
	}
	return nil, false
}
