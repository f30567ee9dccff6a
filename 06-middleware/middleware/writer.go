package middleware

import (
	"bufio"
	"net"
	"net/http"
)

// statusWriter remembers the status code and counts the bytes of a
// response, for the layers that log and count requests.
type statusWriter struct {
	http.ResponseWriter
	status int   // 0 until the handler writes the header
	bytes  int64 // body bytes written
}

// statusOf returns w itself if it already is a statusWriter (a layer just
// outside made it, with nothing between that could change the response),
// else a new one around w. Sharing saves an allocation per layer.
func statusOf(w http.ResponseWriter) *statusWriter {
	if sw, ok := w.(*statusWriter); ok {
		return sw
	}
	return &statusWriter{ResponseWriter: w}
}

func (w *statusWriter) WriteHeader(code int) {
	// A 1xx is not the answer, except a 101: net/http sends one written
	// here as the final header (see fieldWriter.WriteHeader). A code past
	// 999 is none either: net/http panics on it, sending nothing, and a
	// proxy can be handed one (Go's HTTP/2 client takes any number in an
	// upstream's :status). Recorded, it would make the panic look like a
	// response cut short (TestAStatusNetHTTPRefusesIsA500).
	if w.status == 0 && (code >= 200 && code <= 999 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the server's writer, to flush
// a stream or hijack a WebSocket connection through this layer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hands the connection over (see http.ResponseController). The
// handler then writes its answer on the connection itself, unseen by this
// writer; in a gateway that is a 101 Switching Protocols (what
// httputil.ReverseProxy writes for a WebSocket), so a hijack counts as one.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return conn, rw, err
}

// Status is the status sent: 200 if the handler wrote nothing (the server
// then sends 200).
func (w *statusWriter) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// headerSent reports whether the header has gone, so that the status
// can no longer change.
func (w *statusWriter) headerSent() bool { return w.status != 0 }

// FlushError flushes through to the server (http.ResponseController calls
// it). A flush sends the header, so the status is 200 from then on if the
// handler had not set one.
func (w *statusWriter) FlushError() error {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush is FlushError for a handler that asks for an http.Flusher, as
// many a server-sent events library does: every stack has this writer
// (the access log's), and without it such a handler could not stream.
func (w *statusWriter) Flush() { _ = w.FlushError() }

// fieldWriter sets one response header field to its value at the moment
// the header goes out (a final status written, the first byte of body,
// a flush), replacing whatever the handler put there. A layer that only
// sets the field before calling next gets two values on a proxied
// response: httputil.ReverseProxy copies its upstream's fields with
// Header.Add, so an upstream's X-Request-Id or Access-Control-Allow-Origin
// would go out beside the layer's (and a browser refuses a response with
// two Access-Control-Allow-Origin values).
//
// A handler that hijacks the connection writes the header itself, and
// WriteHeader never runs: httputil.ReverseProxy does so for a 101
// Switching Protocols (a WebSocket). It hijacks, adds its upstream's
// fields to Header(), then calls Header() again for the header it writes
// (handleUpgradeResponse). Setting the field at Hijack would be too early,
// before the upstream's are added; so once the connection is hijacked
// every call of Header sets the field anew, and the header written has
// the layer's value alone. This relies on ReverseProxy asking twice:
// TestUpgradedResponseHasOneOfEachField fails if it stops.
type fieldWriter struct {
	http.ResponseWriter
	key      string   // canonical
	value    []string // nil: the field is removed
	sent     bool
	hijacked bool
}

// apply puts the field into h: the value, or none.
func (w *fieldWriter) apply(h http.Header) {
	if w.value == nil {
		delete(h, w.key)
		return
	}
	h[w.key] = w.value
}

func (w *fieldWriter) set() {
	if w.sent {
		return
	}
	w.sent = true
	w.apply(w.ResponseWriter.Header())
}

// Header is the header the response will carry: after a hijack, with the
// field set (see fieldWriter).
func (w *fieldWriter) Header() http.Header {
	h := w.ResponseWriter.Header()
	if w.hijacked {
		w.apply(h)
	}
	return h
}

func (w *fieldWriter) WriteHeader(code int) {
	// A 1xx is not the answer, except a 101: net/http sends one written
	// here as the final header, and keeps no 1xx apart for it.
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.set()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *fieldWriter) Write(p []byte) (int, error) {
	w.set()
	return w.ResponseWriter.Write(p)
}

// FlushError sets the field before a flush sends the header.
func (w *fieldWriter) FlushError() error {
	w.set()
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush is FlushError for a handler that asks for an http.Flusher.
func (w *fieldWriter) Flush() { _ = w.FlushError() }

// Hijack hands the connection over (see http.ResponseController): from
// then on, Header sets the field (see fieldWriter).
func (w *fieldWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	w.hijacked = err == nil
	return conn, rw, err
}

// finish sets the field if the handler wrote nothing: net/http, or a layer
// further out, sends the header after the handler returns.
func (w *fieldWriter) finish() { w.set() }

// Unwrap lets http.ResponseController reach the server's writer.
func (w *fieldWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
