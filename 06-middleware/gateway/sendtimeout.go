package gateway

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// sendChunk is the most written to the client under one push of the
// deadline. net.Conn's Write waits until all it was given is sent, so a
// handler's single Write of a large slice would otherwise have to go
// whole within d, however steadily the client reads it.
const sendChunk = 32 << 10

// sendTimeout bounds the wait of each write of a response to the client
// to d: nginx's send_timeout, a bound on the time between two successive
// writes, not on the whole response. A client that reads the headers and
// then stops reading would otherwise hold its connection, the handler's
// goroutine and the upstream connection for ever; a server's WriteTimeout
// cannot help, since it bounds the whole response and so cuts streams and
// long downloads short.
//
// The clock is the connection's write deadline (http.ResponseController):
// before every write that may reach the connection (a Write, at most
// sendChunk bytes at a time; a flush; a 1xx header) it is pushed to now +
// d, and once more when the handler returns, for what net/http still has
// buffered. Time the handler spends between writes (waiting for its
// upstream) does not count, since the next write pushes first. A write
// that waits past the deadline fails, the proxy gives up on the upstream,
// and net/http closes the connection. whole, the server's WriteTimeout,
// still bounds the whole response if set: no push goes past it (counted
// from the handler's start, a few microseconds after net/http's own).
//
// After a hijack (a WebSocket) nothing is pushed: net/http has cleared the
// connection's deadlines as it handed it over, and a tunnel that stays
// quiet for longer than d is not cut. Once a handler returns, net/http
// also clears the write deadline after the response is sent, so the next
// request on a keep-alive connection starts with none.
func sendTimeout(h http.Handler, d, whole time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := sendWriters.Get().(*sendWriter)
		*sw = sendWriter{ResponseWriter: w, d: d}
		if whole > 0 {
			sw.end = time.Now().Add(whole)
		}
		h.ServeHTTP(sw, r)
		if !sw.hijacked {
			sw.push() // net/http writes what it still holds when we return
		}
		// Not deferred: after a panic net/http closes the connection, and
		// sw, which the handler may still hold, is left to the collector.
		*sw = sendWriter{}
		sendWriters.Put(sw)
	})
}

// sendWriters recycles the writers: a request allocates none. A handler
// must not use its ResponseWriter after it returns (net/http's rule), so
// a writer is free again then.
var sendWriters = sync.Pool{New: func() any { return new(sendWriter) }}

// sendWriter pushes the connection's write deadline before each write
// (see sendTimeout).
type sendWriter struct {
	http.ResponseWriter
	d        time.Duration
	end      time.Time // the server's WriteTimeout deadline, or zero
	hijacked bool
}

// push sets the write deadline to now + d, or to end if that comes first.
// A writer that cannot set one (a test's recorder) is left without.
func (w *sendWriter) push() {
	t := time.Now().Add(w.d)
	if !w.end.IsZero() && t.After(w.end) {
		t = w.end
	}
	_ = http.NewResponseController(w.ResponseWriter).SetWriteDeadline(t)
}

func (w *sendWriter) Write(p []byte) (int, error) {
	n := 0
	for {
		c := min(len(p)-n, sendChunk)
		w.push()
		m, err := w.ResponseWriter.Write(p[n : n+c])
		n += m
		if err != nil || n == len(p) {
			return n, err
		}
	}
}

// WriteString is Write for a string. Without it io.WriteString would copy
// the string into a new slice on every call (net/http's writer takes a
// string as it is).
func (w *sendWriter) WriteString(s string) (int, error) {
	n := 0
	for {
		c := min(len(s)-n, sendChunk)
		w.push()
		m, err := io.WriteString(w.ResponseWriter, s[n:n+c])
		n += m
		if err != nil || n == len(s) {
			return n, err
		}
	}
}

// WriteHeader pushes before a 1xx, which net/http sends at once; a final
// status is only buffered until the first write or flush.
func (w *sendWriter) WriteHeader(code int) {
	if code < 200 {
		w.push()
	}
	w.ResponseWriter.WriteHeader(code)
}

// FlushError pushes, then flushes (http.ResponseController calls it).
func (w *sendWriter) FlushError() error {
	w.push()
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush is FlushError for a handler that asks for an http.Flusher.
func (w *sendWriter) Flush() { _ = w.FlushError() }

// ReadFrom copies src through Write, a chunk and a push at a time, which
// io.Copy would do too, but with a buffer of its own per call. It must
// not hand src to net/http's ReadFrom: that copies all of it (sendfile,
// for a file) under the one deadline pushed before.
func (w *sendWriter) ReadFrom(src io.Reader) (int64, error) {
	buf := copyBufs.Get().(*[sendChunk]byte)
	defer copyBufs.Put(buf)
	var n int64
	for {
		m, err := src.Read(buf[:])
		if m > 0 {
			k, werr := w.Write(buf[:m])
			n += int64(k)
			if werr != nil {
				return n, werr
			}
		}
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

var copyBufs = sync.Pool{New: func() any { return new([sendChunk]byte) }}

// Hijack hands the connection over (see http.ResponseController); from
// then on nothing is pushed (see sendTimeout).
func (w *sendWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return conn, rw, err
}

// Unwrap lets http.ResponseController reach the server's writer (a
// read deadline for body-timeout, full duplex).
func (w *sendWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
