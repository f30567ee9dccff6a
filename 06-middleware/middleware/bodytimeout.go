package middleware

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/gocourse/gateway/06-middleware/onion"
)

// ErrBodyTimeout is a request body that sent no byte, while a handler
// waited for one, for as long as BodyTimeout allows.
var ErrBodyTimeout = errors.New("request body timeout: the client sent nothing for too long")

// DefaultBodyTimeout is the pause between two reads of a body that a
// gateway or server built in this course allows when it is not told:
// nginx's default for client_body_timeout, which means the same.
const DefaultBodyTimeout = 60 * time.Second

// Timer is what an AfterFunc returns: a *time.Timer, or a test's.
type Timer interface {
	Reset(d time.Duration) bool
	Stop() bool
}

// AfterFunc starts a Timer that calls f after d: time.AfterFunc, or a
// test's fake clock.
type AfterFunc func(d time.Duration, f func()) Timer

// BodyTimeout answers 408 Request Timeout, and closes the connection, when
// a request's body sends nothing for after while a handler waits for it:
// nginx's client_body_timeout, which has the same meaning (and a default
// of 60 s). Unlike the server's ReadTimeout it does not bound a whole
// upload, which may take as long as it needs; and time the handler spends
// elsewhere (sending the bytes on to a slow upstream) does not count. A
// client that stops mid-body would otherwise hold the handler, its
// upstream connection and their goroutines for as long as it liked; a
// server's ReadTimeout, where a large upload needs it off (0), cannot
// help.
//
// The clock runs only while a Read waits. When it fires it sets the
// connection's read deadline in the past (http.ResponseController), which
// ends that Read; it, and every later Read, returns ErrBodyTimeout, and
// whatever the handler answers then (a proxy's 502) becomes the 408.
// after <= 0 turns the layer off; a nil afterFunc means time.AfterFunc.
func BodyTimeout(after time.Duration, afterFunc AfterFunc) onion.Middleware {
	if afterFunc == nil {
		afterFunc = func(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if after <= 0 || r.Body == nil || r.Body == http.NoBody {
				next.ServeHTTP(w, r)
				return
			}
			rc := http.NewResponseController(w)
			body := &idleBody{r: r.Body, after: after, cut: func() {
				// A writer that cannot set deadlines (ErrNotSupported)
				// leaves the Read waiting; net/http's servers all can.
				rc.SetReadDeadline(time.Unix(1, 0))
			}}
			body.timer = afterFunc(after, body.expire)
			body.timer.Stop() // it runs only inside Read
			defer body.end()
			r2 := *r
			r2.Body = body
			bw := &bodyTimeoutWriter{ResponseWriter: w, body: body}
			next.ServeHTTP(bw, &r2)
			if !bw.wroteHeader && body.timedOut() {
				bw.WriteHeader(http.StatusOK) // becomes the 408
			}
		})
	}
}

// idleBody is a request body with a clock that runs only while a Read
// waits for the client's next bytes.
type idleBody struct {
	r     io.ReadCloser
	after time.Duration
	cut   func() // ends the Read that waits

	mu      sync.Mutex
	timer   Timer
	reading bool // a Read waits: only then may expire act
	fired   bool
	ended   bool
}

// expire is the clock's callback. time.AfterFunc may start it just before
// a Stop, when the Read it timed has returned: it acts only if a Read
// still waits, and cuts under mu, so that once that Read has returned no
// deadline is set (one set then would hit net/http's background read,
// which cancels the request's context, or the connection's next request).
func (b *idleBody) expire() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.reading && !b.ended {
		b.fired = true
		b.cut()
	}
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.clock(true)
	n, err := b.r.Read(p)
	if fired := b.clock(false); err != nil && fired {
		err = fmt.Errorf("%w (%v)", ErrBodyTimeout, b.after)
	}
	return n, err
}

func (b *idleBody) Close() error { return b.r.Close() }

// clock starts the clock as a Read begins and stops it as it ends,
// unless the handler is done, and reports whether it has fired.
func (b *idleBody) clock(reading bool) (fired bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reading = reading && !b.ended
	switch {
	case b.ended:
	case reading:
		b.timer.Reset(b.after)
	default:
		b.timer.Stop()
	}
	return b.fired
}

func (b *idleBody) timedOut() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.fired
}

func (b *idleBody) end() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ended, b.reading = true, false
	b.timer.Stop()
}

// bodyTimeoutWriter turns the handler's answer into a 408 if the body
// timed out before the handler answered.
type bodyTimeoutWriter struct {
	http.ResponseWriter
	body        *idleBody
	wroteHeader bool
	replaced    bool
}

func (w *bodyTimeoutWriter) WriteHeader(code int) {
	if w.wroteHeader || code < 200 {
		if !w.replaced {
			w.ResponseWriter.WriteHeader(code)
		}
		return
	}
	w.wroteHeader = true
	if w.body.timedOut() {
		w.replaced = true
		h := w.Header()
		h.Del("Content-Length")
		h.Set("Connection", "close") // the rest of the body will not be read
		http.Error(w.ResponseWriter, fmt.Sprintf("%v (%v)", ErrBodyTimeout, w.body.after), http.StatusRequestTimeout)
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *bodyTimeoutWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.replaced {
		return len(p), nil // the handler's answer to a body it never fully got
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *bodyTimeoutWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
