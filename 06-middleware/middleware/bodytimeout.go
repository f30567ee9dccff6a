package middleware

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gocourse/gateway/06-middleware/onion"
)

// ErrBodyTimeout is a request body that sent no byte, while a Read waited
// for one, for as long as BodyTimeout allows.
var ErrBodyTimeout = errors.New("request body timeout: the client sent nothing for too long")

// DefaultBodyTimeout is the pause between two reads of a body that a
// gateway or server built in this course allows when it is not told:
// nginx's default for client_body_timeout, which means the same.
const DefaultBodyTimeout = 60 * time.Second

// BodyTimeout answers 408 Request Timeout, and closes the connection, when
// a Read of a request's body waits after for the client's next bytes:
// nginx's client_body_timeout, which has the same meaning (and a default
// of 60 s). Unlike the server's ReadTimeout it does not bound a whole
// upload, which may take as long as it needs; and time the handler spends
// between reads (sending the bytes on to a slow upstream) does not count.
// A client that stops mid-body would otherwise hold the handler, its
// upstream connection and their goroutines for as long as it liked; a
// server's ReadTimeout, where a large upload needs it off (0), cannot
// help.
//
// The clock is the connection's own read deadline (http.ResponseController):
// each Read sets it to now + after (or the server's ReadTimeout, if that
// comes first) and puts back the server's when it returns (see Read for
// the two kinds of Read that touch none). No timer runs beside the Read,
// so none can fire just after it returned. A Read that times out returns
// ErrBodyTimeout, and whatever the handler answers then (a proxy's 502,
// or 499 for the context net/http cancels on a failed read) becomes the
// 408. after <= 0 turns the layer off.
//
// An answer to a body the handler did not finish says "Connection: close"
// (see answering), and the body's leftovers are read, after the handler,
// under a deadline (see arm). Put the layer outside every layer that
// reads the body: the deadline is the connection's, and one set after the
// body's end, which only a Read through this layer, a form parsed further
// out or (for a body of declared length) the body itself tells it, would
// cancel the request when it passed.
func BodyTimeout(after time.Duration) onion.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if after <= 0 || r.Body == nil || r.Body == http.NoBody {
				next.ServeHTTP(w, r)
				return
			}
			body := newIdleBody(w, r, after)
			r2 := *r
			r2.Body = body
			rw := newRefusingWriter(w, body.timedOut, func(w http.ResponseWriter) {
				closeAfter(w, r) // the rest of the body will not be read
				http.Error(w, ErrBodyTimeout.Error(), http.StatusRequestTimeout)
			}, body.answering)
			rw.unanswered = body.unanswered
			rw.fullDuplex, rw.hijacked = body.duplex, body.hijacked
			defer body.handlerDone() // on a panic too: Recover, further out, may keep the connection
			next.ServeHTTP(rw, &r2)
			rw.finish() // a 408, if the handler wrote nothing for a body that timed out
		})
	}
}

// idleBody is a request body whose every Read has a deadline of its own.
type idleBody struct {
	r           io.ReadCloser
	after       time.Duration
	now         func() time.Time
	setDeadline func(time.Time) error // the connection's read deadline
	// whole is the deadline the server set for the whole request
	// (ReadTimeout), or zero. net/http counts it from the request's first
	// byte, which a handler cannot learn; this layer counts from when it
	// began, up to the time the headers took (ReadHeaderTimeout) later.
	whole time.Time
	// http1: net/http's HTTP/1 server reads the rest of an unfinished
	// body itself, and its read of the connection at the body's end
	// shares the deadline (see arm); HTTP/2 does neither (a stream's
	// body is its own, and deadlines are the stream's).
	http1 bool
	// declared: the body has a Content-Length, so a Read of nothing
	// tells at once whether it has ended (see handlerDone).
	declared bool

	mu          sync.Mutex
	hit         bool // a Read timed out
	eof         bool // a Read returned EOF, the body was closed, or a form further out read it
	done        bool // the handler has returned
	reading     bool // a Read waits, with a deadline of its own
	armed       bool // net/http will read the rest itself: a Read that ends sets a deadline again, instead of putting the server's back
	mayContinue bool // the client sent "Expect: 100-continue", and no Read (which sends the 100) or answer (which gives it up) came yet
	fullDuplex  bool // the handler answers while it reads: net/http reads nothing before the answer's header
}

func newIdleBody(w http.ResponseWriter, r *http.Request, after time.Duration) *idleBody {
	rc := http.NewResponseController(w)
	b := &idleBody{r: r.Body, after: after, now: time.Now, setDeadline: rc.SetReadDeadline}
	if srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok && srv.ReadTimeout > 0 {
		b.whole = b.now().Add(srv.ReadTimeout)
	}
	b.http1 = r.ProtoMajor == 1
	b.declared = r.ContentLength > 0
	b.mayContinue = b.http1 && r.ProtoAtLeast(1, 1) && strings.EqualFold(strings.TrimSpace(r.Header.Get("Expect")), "100-continue")
	b.eof = readByForm(r)
	return b
}

// readByForm reports whether ParseForm, further out, has read r's body
// to its end: a form-encoded POST, PUT or PATCH body it parsed into
// values. (It sets PostForm for other requests too, and to an empty map
// for a body too large, which it leaves unfinished. ParseMultipartForm is
// not trusted: it stops at the last boundary.)
func readByForm(r *http.Request) bool {
	if len(r.PostForm) == 0 || (r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodPatch) {
		return false
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return ct == "application/x-www-form-urlencoded"
}

// Read reads with a deadline of its own, and puts the server's back.
// Deadlines are set under mu, so that none is set once handlerDone has
// returned. A Read touches no deadline:
//   - after the body's end (EOF, or net/http's ErrBodyReadAfterClose):
//     net/http has then begun its own read of the connection, to notice
//     the client leaving, with no deadline, and one left by this layer
//     would cancel the request when it passed. The Read that finds the
//     end clears the deadline, as net/http does, whoever read the body
//     first (an outer ParseForm, say);
//   - after a Read timed out: the deadline that passed stays, so that
//     net/http's discard of the rest of the body fails at once and the
//     connection is closed, instead of waiting for a silent client;
//   - after the handler returned (a transport still sending the body):
//     the server may have set the deadlines of the connection's next
//     request.
//
// Once net/http is to read the rest itself (see arm), a Read that ends
// sets a deadline for that read instead of putting the server's back.
func (b *idleBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.eof || b.hit || b.done {
		b.mu.Unlock()
		return b.r.Read(p)
	}
	deadline, whole := b.deadline()
	// A writer that cannot set deadlines (ErrNotSupported) leaves the
	// Read without one; net/http's servers all can.
	b.setDeadline(deadline)
	b.reading = true
	b.mayContinue = false // this Read sends it
	b.mu.Unlock()

	n, err := b.r.Read(p)

	b.mu.Lock()
	defer b.mu.Unlock()
	b.reading = false
	switch {
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
		b.hit = true
		limit := fmt.Sprint("nothing for ", b.after)
		if whole {
			limit = "the server's read timeout"
		}
		return n, fmt.Errorf("%w (%s): %w", ErrBodyTimeout, limit, err)
	case err == io.EOF || errors.Is(err, http.ErrBodyReadAfterClose):
		b.eof = true
		if !b.done {
			b.setDeadline(time.Time{})
		}
	case b.done:
	case b.armed:
		d, _ := b.deadline()
		b.setDeadline(d)
	default:
		b.setDeadline(b.whole)
	}
	return n, err
}

// handlerDone marks the handler as returned: a Read from now on is a
// transport's, after the server may have moved on. Before that it arms
// a deadline for net/http's HTTP/1 server, which closes the body next
// and so reads what is left of it (up to 256 KiB), asking a body of
// declared length first whether it has ended: a Read of nothing answers
// at once, and one that ended (read further out) must get no deadline,
// for net/http's own read of the connection runs from the body's end
// until then. A chunked body is not asked (it may wait for its next
// chunk's header before it answers, holding up the answer the handler
// left to net/http), nor one whose client may still be waiting for
// "100 Continue" (the Read would send it).
func (b *idleBody) handlerDone() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.http1 {
		b.arm()
		if b.armed && !b.eof && !b.hit && !b.reading && b.declared && !b.mayContinue {
			if _, err := b.r.Read(nil); err == io.EOF || errors.Is(err, http.ErrBodyReadAfterClose) {
				b.eof = true
				b.setDeadline(time.Time{})
			}
		}
	}
	b.done = true
}

// deadline is a Read's deadline: now + after, or the server's for the
// whole request if that is nearer (whole says which).
func (b *idleBody) deadline() (d time.Time, whole bool) {
	d = b.now().Add(b.after)
	if !b.whole.IsZero() && !b.whole.After(d) {
		return b.whole, true
	}
	return d, false
}

// arm sets a deadline for net/http's own read of a body nobody
// finished, which it makes when the body is closed (after the handler,
// or by a transport that gave up on it): it reads and throws away what
// is left, up to 256 KiB, outside this layer, and with no deadline at all
// when ReadTimeout is off, so a client silent mid-body would hold it for
// ever. A Read in progress keeps its own deadline, and sets one again
// when it ends (armed). mu must be held.
func (b *idleBody) arm() {
	if b.eof || b.hit || b.done {
		return
	}
	b.armed = true
	if !b.reading {
		d, _ := b.deadline()
		b.setDeadline(d)
	}
}

// answering is called before the handler's answer goes out. For a body
// the handler has not finished, net/http's HTTP/1 server would first read
// and throw away the rest, up to 256 KiB, when the answer's header goes
// out: with no deadline when ReadTimeout is off, and at a moment this
// layer cannot see (the first flush, not WriteHeader). Instead the answer
// says "Connection: close", and net/http skips that read: the answer
// goes out at once, and the connection ends after it, leftovers and all.
// The price is keep-alive whenever the handler stops before the body's
// end, also when only the end itself is left (a chunked body's last,
// empty chunk, arriving after a JSON decoder took its value): a handler
// that reads to EOF keeps it. Not in full duplex, where net/http reads
// nothing. For a client that sent "Expect: 100-continue" net/http closes
// by itself, but only if the request's body is still its own: a layer
// further out that replaced it (http.MaxBytesReader, as chapter 07's API
// server does) turns that off, and net/http would read, before the
// header, a body the client does not send until it gets a "100 Continue"
// it will never get; so the header is set then too.
func (b *idleBody) answering(h http.Header) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mayContinue = false // the answer's header gives it up
	b.closeIfUnfinished(h)
}

// unanswered is called when the handler returns without having answered:
// the answer net/http (or a layer further out) sends for it gets the same
// header. The "100 Continue" is not given up yet (nothing was written),
// so the handler's return must still not ask the body.
func (b *idleBody) unanswered(h http.Header) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closeIfUnfinished(h)
}

// closeIfUnfinished: see answering. mu must be held.
func (b *idleBody) closeIfUnfinished(h http.Header) {
	if b.http1 && !b.eof && !b.hit && !b.done && !b.fullDuplex {
		h.Set("Connection", "close")
	}
}

// duplex is called when the handler has turned full duplex on.
func (b *idleBody) duplex() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fullDuplex = true
}

// hijacked is called when the handler has taken the connection over: its
// deadlines are the handler's from now on.
func (b *idleBody) hijacked() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = true
}

// Close closes the body, with a deadline for what net/http reads to
// close it, and clears the deadline once it is closed: net/http has then
// read the rest (and begun its own read of the connection) or given up on
// it (and will close the connection). Later Reads touch no deadline.
func (b *idleBody) Close() error {
	b.mu.Lock()
	b.arm()
	b.mu.Unlock()
	err := b.r.Close()
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
		b.hit = true
	case !b.eof && !b.hit && !b.done:
		b.setDeadline(time.Time{})
	}
	b.eof = true
	return err
}

func (b *idleBody) timedOut() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hit
}
