package middleware

import "net/http"

// refusingWriter turns a handler's answer into a refusal when, by the time
// the handler answers, the request's body has been refused: it went past
// MaxBody's limit, or a Read of it passed BodyTimeout's. The handler then
// answered a body it never fully got (a proxy's 502, or nothing at all),
// and the client is better told why.
type refusingWriter struct {
	http.ResponseWriter
	refused     func() bool               // whether the body has been refused
	refuse      func(http.ResponseWriter) // writes the refusal instead
	answering   func()                    // if set, called before the handler's own answer goes out
	wroteHeader bool
	replaced    bool
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
		h.Del("Content-Length") // the handler's, for an answer not sent
		h.Del("Content-Encoding")
		w.refuse(w.ResponseWriter)
		return
	}
	if w.answering != nil {
		w.answering()
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

// finish refuses the request if the handler wrote nothing at all for a
// body that was refused.
func (w *refusingWriter) finish() {
	if !w.wroteHeader && w.refused() {
		w.WriteHeader(http.StatusOK) // becomes the refusal
	}
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *refusingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
