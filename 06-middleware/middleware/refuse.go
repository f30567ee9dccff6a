package middleware

import (
	"bufio"
	"net"
	"net/http"
)

// refusingWriter turns a handler's answer into a refusal when, by the time
// the handler answers, the request's body has been refused: it went past
// MaxBody's limit, or a Read of it passed BodyTimeout's. The handler then
// answered a body it never fully got (a proxy's 502, or nothing at all),
// and the client is better told why.
//
// The refusal keeps the header fields that layers further out had set
// when this one began (a request id), and drops those the handler set
// for the answer it no longer sends: a proxy copies its upstream's, and a
// Set-Cookie or a Cache-Control that let a shared cache keep the refusal
// has no place on it.
type refusingWriter struct {
	http.ResponseWriter
	refused     func() bool               // whether the body has been refused
	refuse      func(http.ResponseWriter) // writes the refusal instead
	answering   func(http.Header)         // if set, called before the handler's own answer goes out
	unanswered  func(http.Header)         // if set, called when the handler returns without answering
	fullDuplex  func()                    // if set, called when the handler turns full duplex on
	hijacked    func()                    // if set, called when the handler takes the connection over
	before      http.Header               // the header when the layer began
	wroteHeader bool
	replaced    bool
}

func newRefusingWriter(w http.ResponseWriter, refused func() bool, refuse func(http.ResponseWriter), answering func(http.Header)) *refusingWriter {
	return &refusingWriter{ResponseWriter: w, refused: refused, refuse: refuse, answering: answering, before: w.Header().Clone()}
}

func (w *refusingWriter) WriteHeader(code int) {
	if w.wroteHeader || code < 200 {
		if !w.replaced {
			w.ResponseWriter.WriteHeader(code)
		}
		return
	}
	w.wroteHeader = true
	if w.refused() {
		w.replaced = true
		h := w.Header()
		clear(h)
		for k, v := range w.before {
			h[k] = v
		}
		w.refuse(w.ResponseWriter)
		return
	}
	if w.answering != nil {
		w.answering(w.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *refusingWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.replaced {
		return len(p), nil // the handler's answer to a body it never fully got
	}
	return w.ResponseWriter.Write(p)
}

// FlushError sends the answer so far. An answer flushed before anything
// was written goes through WriteHeader first, as one written is: it may
// have to become the refusal, and net/http reads the rest of the body
// before it sends a header. (Without this method http.ResponseController
// would reach the server's writer past this one.)
func (w *refusingWriter) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush is FlushError for a handler that asks for an http.Flusher.
func (w *refusingWriter) Flush() { _ = w.FlushError() }

// EnableFullDuplex passes the handler's request on (see
// http.ResponseController), and tells the layer when it is granted:
// net/http then reads nothing of the body before the answer's header.
func (w *refusingWriter) EnableFullDuplex() error {
	err := http.NewResponseController(w.ResponseWriter).EnableFullDuplex()
	if err == nil && w.fullDuplex != nil {
		w.fullDuplex()
	}
	return err
}

// finish refuses the request if the handler wrote nothing at all for a
// body that was refused. Otherwise, if the handler wrote nothing, the
// answer net/http (or a layer further out) sends for it gets the header
// fields unanswered sets.
func (w *refusingWriter) finish() {
	switch {
	case w.wroteHeader:
	case w.refused():
		w.WriteHeader(http.StatusOK) // becomes the refusal
	case w.unanswered != nil:
		w.unanswered(w.Header())
	}
}

// Hijack hands the connection over (see http.ResponseController), and
// tells the layer when it did.
func (w *refusingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.hijacked != nil {
		w.hijacked()
	}
	return conn, rw, err
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *refusingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
