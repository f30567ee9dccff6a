package direct

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/gocourse/gateway/03-director/rewrite"
)

// aLongTimeAgo is a deadline in the past: setting it makes a blocked read
// or write on the connection return at once.
var aLongTimeAgo = time.Unix(1, 0)

// max1xx bounds the informational responses (100 Continue, 103 Early
// Hints) skipped before the final one when nobody listens for them: more
// than five is an error, as it was in http.Transport until recent Go
// releases (Go 1.26's bounds them by their size only). With an
// httptrace.ClientTrace that listens (as httputil.ReverseProxy's), only
// maxHeaderBytes bounds them.
const max1xx = 5

// maxHeaderBytes bounds a response's header, 1xx responses included:
// http.Transport's default MaxResponseHeaderBytes.
const maxHeaderBytes = 10 << 20

var errHeaderTooLarge = errors.New("direct: response header larger than 10 MiB")

// exchange writes req on c and reads the response's header. On success
// the response's body owns c: closing it puts c back in the pool, or
// closes it. On failure c is closed.
func (t *Transport) exchange(c *conn, req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	// A cancelled request (client gone, route deadline passed) unblocks
	// whatever read or write is in progress, as http.Transport does.
	stop := context.AfterFunc(ctx, c.unblock)
	fail := func(err error) (*http.Response, error) {
		stop()
		c.nc.Close()
		if cerr := ctx.Err(); cerr != nil {
			return nil, fmt.Errorf("%w (%v)", cerr, err)
		}
		return nil, err
	}
	if err := req.Write(c.bw); err != nil {
		return fail(fmt.Errorf("direct: writing the request: %w", err))
	}
	if err := c.bw.Flush(); err != nil {
		return fail(fmt.Errorf("direct: writing the request: %w", err))
	}
	if t.ResponseHeaderTimeout > 0 {
		c.nc.SetReadDeadline(time.Now().Add(t.ResponseHeaderTimeout))
		// A cancellation that set its deadline just before this one was
		// overwritten: look again, as below when the deadline is cleared.
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
	}
	c.limit = c.nread + maxHeaderBytes
	c.head, c.headAt = c.head[:0], c.nread
	var resp *http.Response
	var start, end int64 // where the last header read lies in c.head
	for n := 0; ; n++ {  // n: the 1xx responses skipped so far
		var err error
		start = c.nread - int64(c.br.Buffered()) - c.headAt
		resp, err = http.ReadResponse(c.br, req)
		end = c.nread - int64(c.br.Buffered()) - c.headAt
		if err != nil {
			if isTimeout(err) && ctx.Err() == nil {
				err = errHeaderTimeout
			}
			return fail(err)
		}
		if resp.StatusCode < 100 {
			// Not a 1xx to skip or pass on (a ReverseProxy's WriteHeader
			// panics on it), nor a final answer: status codes run from
			// 100 to 599 (RFC 9110, section 15).
			return fail(fmt.Errorf("direct: invalid status code %d", resp.StatusCode))
		}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			return fail(errors.New("direct: unexpected 101 Switching Protocols"))
		}
		if resp.StatusCode >= 200 {
			break
		}
		// httputil.ReverseProxy listens here to pass 103 Early Hints
		// and the like on to its client.
		trace := httptrace.ContextClientTrace(ctx)
		if trace == nil || trace.Got1xxResponse == nil {
			if n == max1xx { // this one is the sixth
				return fail(errors.New("direct: too many 1xx informational responses"))
			}
			continue
		}
		// Passed on as it is, otherwise: a name with whitespace before
		// its colon, or a line folded onto the one before (which Go
		// joins to it, so that only the raw lines show it).
		if 0 <= start && start <= end && end <= int64(len(c.head)) {
			if _, _, bad := framedBy(c.head[start:end]); bad != nil {
				return fail(malformed(string(bad)))
			}
		}
		if name := spacedName(resp.Header); name != "" {
			return fail(malformed(name + ":"))
		}
		rewrite.DropHopByHop(resp.Header) // see informational.go
		if err := trace.Got1xxResponse(resp.StatusCode, textproto.MIMEHeader(resp.Header)); err != nil {
			return fail(err)
		}
	}
	c.limit = 0
	te, cl := true, true // unseen: in doubt (put keeps no buffered bytes, so never)
	var bad []byte
	if 0 <= start && start <= end && end <= int64(len(c.head)) {
		te, cl, bad = framedBy(c.head[start:end])
	}
	if bad != nil {
		return fail(malformed(string(bad)))
	}
	if cap(c.head) > 64<<10 {
		c.head = nil // an outsized header: do not hold its copy
	}
	if t.ResponseHeaderTimeout > 0 {
		c.nc.SetReadDeadline(time.Time{})
		if err := ctx.Err(); err != nil { // cancelled while the deadline was reset
			return fail(err)
		}
	}
	// A connection that answered CONNECT is a tunnel, or was about to be
	// one: never another request's. One on which the request said
	// "Connection: close" carries nothing more (RFC 9112, section 9.6),
	// whatever the backend answered.
	// A Transfer-Encoding with a Content-Length, or in an HTTP/1.0
	// answer, is framing in doubt (RFC 9112, sections 6.1 and 6.3):
	// http.ReadResponse reads it by one rule and drops the other field,
	// but whether the backend meant the same, no one can tell, and the
	// connection is not kept.
	doubtful := te && (cl || !resp.ProtoAtLeast(1, 1))
	keep := !resp.Close && !req.Close && !saysClose(req.Header) && req.Method != http.MethodConnect && !doubtful
	if resp.Body == http.NoBody {
		t.done(c, keep, stop)
		return resp, nil
	}
	resp.Body = &body{r: resp.Body, t: t, c: c, ctx: ctx, keep: keep, stop: stop, timeout: t.ResponseBodyTimeout}
	return resp, nil
}

// saysClose reports whether h's Connection field has the "close" option.
// Request.Write sends the field as it is; Request.Close is the other way
// to ask for the same.
func saysClose(h http.Header) bool {
	for _, v := range h["Connection"] {
		for opt := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(textproto.TrimString(opt), "close") {
				return true
			}
		}
	}
	return false
}

// framedBy reads a response header as it came from the backend, status
// line first. It reports whether it had a Transfer-Encoding field and a
// Content-Length field (http.ReadResponse deletes the one it does not
// follow), and returns a field line that ReadResponse lets pass but a
// proxy must not forward as it is, if there is one: a name with
// whitespace before its colon, or a line folded onto the one before it
// (obs-fold). Go keeps "Content-Length : 3" as a field named
// "Content-Length " and frames the body without it, though the backend
// may have meant that length: a lenient reader takes it for one, and so
// would the client, had a proxy removed the whitespace as RFC 9112
// (section 5.1) asks of one that forwards the line. (net/http's own
// writers drop a field whose name is not a token: through them it is
// lost, not forwarded.) A proxy may refuse such a response instead (RFC
// 9112, sections 5.1 and 5.2), as nginx does, with a 502.
func framedBy(head []byte) (te, cl bool, bad []byte) {
	for first := true; len(head) > 0; first = false {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if first { // the status line
			continue
		}
		if len(line) == 0 { // the end of the header
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return te, cl, line
		}
		name, _, ok := bytes.Cut(line, []byte(":"))
		switch {
		case !ok:
		case bytes.ContainsAny(name, " \t"):
			return te, cl, line
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			te = true
		case bytes.EqualFold(name, []byte("Content-Length")):
			cl = true
		}
	}
	return te, cl, nil
}

// spacedName returns a field name of h with whitespace in it, which only
// a name sent with whitespace before its colon has (see framedBy), or "".
func spacedName(h http.Header) string {
	for k := range h {
		if strings.ContainsAny(k, " \t") {
			return k
		}
	}
	return ""
}

// malformed is the error for a response with a field line a proxy must
// not forward (see framedBy): the line, cut at 80 bytes.
func malformed(line string) error {
	if len(line) > 80 {
		line = line[:80] + "..."
	}
	return fmt.Errorf("direct: the backend's header line %q has whitespace before its colon, or is folded onto the line before (RFC 9112, sections 5.1 and 5.2)", line)
}

// done ends an exchange on c: it goes back to the pool if the response
// allows it and no cancellation touched its deadline.
func (t *Transport) done(c *conn, keep bool, stop func() bool) {
	if stop() && keep {
		t.put(c)
		return
	}
	c.nc.Close()
}

// body is a response body on a pooled connection. Read to its end, it
// gives the connection back at once; closed before its end, it closes the
// connection, since draining an unwanted body of any size is not worth
// it. (Either way the caller must Close it, as with any http.Response.)
type body struct {
	t    *Transport
	ctx  context.Context // the request's: was the read cut short by its end?
	keep bool
	stop func() bool

	timeout time.Duration // Transport.ResponseBodyTimeout

	// mu guards r and c: Close may run while a Read waits, to stop it,
	// as an http.Transport body allows. A Read does not hold it while it
	// waits.
	mu sync.Mutex
	r  io.Reader // the body; then eofReader once read to its end, closedReader once closed
	c  *conn     // nil once given back or closed
}

func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	r, c := b.r, b.c
	if c != nil && b.timeout > 0 {
		// Every Read starts the clock afresh. The deadline stays set
		// while the proxy writes what it read to its client, but nothing
		// reads the connection then: only a Read can run into it.
		c.nc.SetReadDeadline(time.Now().Add(b.timeout))
		if b.ctx.Err() != nil {
			// A cancellation set its past deadline just before this one
			// replaced it: set it again.
			c.nc.SetReadDeadline(aLongTimeAgo)
		}
	}
	b.mu.Unlock()
	n, err := r.Read(p)
	if err == nil || c == nil {
		return n, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch cerr := b.ctx.Err(); {
	case b.c == nil:
		// Closed while this Read waited: Close closed the connection,
		// which is what cut the read short, unless it had ended.
		if err != io.EOF {
			err = errBodyClosed
		}
	case err == io.EOF:
		if b.timeout > 0 {
			c.nc.SetReadDeadline(time.Time{}) // the next exchange's reads have their own
		}
		b.t.done(c, b.keep, b.stop)
		b.c, b.r = nil, eofReader{}
	case cerr != nil:
		// The read was cut short by the cancellation's past deadline:
		// say so, as http.Transport does, rather than "i/o timeout",
		// which reads as a slow backend.
		err = fmt.Errorf("%w (%v)", cerr, err)
	case b.timeout > 0 && isTimeout(err):
		err = ErrBodyTimeout
	}
	return n, err
}

func (b *body) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.c != nil {
		b.t.done(b.c, false, b.stop)
		b.c = nil
	}
	b.r = closedReader{}
	return nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

type closedReader struct{}

func (closedReader) Read([]byte) (int, error) { return 0, errBodyClosed }

var errBodyClosed = errors.New("direct: read on a closed response body")

// errHeaderTimeout is a backend that took longer than
// ResponseHeaderTimeout to answer. It is a net.Error whose Timeout is
// true, so a proxy answers 504.
var errHeaderTimeout error = headerTimeout{}

type headerTimeout struct{}

func (headerTimeout) Error() string   { return "direct: timeout awaiting response headers" }
func (headerTimeout) Timeout() bool   { return true }
func (headerTimeout) Temporary() bool { return true }

// ErrBodyTimeout is a backend that paused longer than ResponseBodyTimeout
// in the middle of a response's body. It is a net.Error whose Timeout is
// true; test for it with errors.Is.
var ErrBodyTimeout error = bodyTimeout{}

type bodyTimeout struct{}

func (bodyTimeout) Error() string   { return "direct: timeout awaiting more of the response body" }
func (bodyTimeout) Timeout() bool   { return true }
func (bodyTimeout) Temporary() bool { return true }

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// retryOnFresh reports whether a request that failed on a reused
// connection, before any byte of an answer, may be sent again on a new
// one: the backend most likely closed the idle connection just as the
// request went out, and never saw it. A backend that timed out is not
// tried again here: it did not close anything, it is slow.
func retryOnFresh(req *http.Request, c *conn, err error) bool {
	return c.nread == 0 && !isTimeout(err) && req.Context().Err() == nil && repeatable(req)
}

// repeatable reports whether sending req twice has the effect of sending
// it once, and its body can be sent again: http.Transport's rule. The
// method is idempotent (RFC 9110, section 9.2.2), or the client promised
// with an Idempotency-Key or X-Idempotency-Key header that the backend
// deduplicates it.
func repeatable(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return false
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return req.Header.Get("Idempotency-Key") != "" || req.Header.Get("X-Idempotency-Key") != ""
}
