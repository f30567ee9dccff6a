// Package direct is an HTTP/1.1 RoundTripper for a proxy's hot path: it
// writes the request and reads the response on the caller's goroutine,
// over kept-alive connections it pools per backend.
//
// http.Transport gives every connection two goroutines of its own, one
// that writes requests and one that reads responses, and hands each
// request and response between them and the caller over channels. That
// buys it much: it can read an early answer while a large body is still
// being sent, wait for "100 Continue", notice at once when a backend
// closes an idle connection. It also costs two goroutine hand-offs, and the
// wake-ups behind them, on every request. A gateway's typical request has
// no body, or a small one already in memory, and a backend that answers
// after reading it: for those, doing it all on one goroutine is simpler
// and faster. Everything else goes to Fallback, an http.Transport.
package direct

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Transport sends plain-HTTP requests without a body, or with one already
// in memory (Request.GetBody set, as the gateway's retry layer does for
// small bodies), itself; every other request (https, an Upgrade, Expect:
// 100-continue, a streamed body) goes to Fallback.
type Transport struct {
	// Fallback takes the requests the direct path does not; nil means
	// http.DefaultTransport.
	Fallback http.RoundTripper
	// DialContext opens a connection; nil means a net.Dialer with a 5 s
	// timeout. A connection that is not a syscall.Conn (a wrapper that
	// hides its socket) is closed after one request, not kept: an idle
	// connection is checked through its socket before it is reused (see
	// peeker).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// MaxIdlePerHost bounds the idle connections kept per backend; 0
	// means 256.
	MaxIdlePerHost int
	// IdleTimeout is how long an idle connection is kept; 0 means 90 s,
	// http.Transport's default.
	IdleTimeout time.Duration
	// ResponseHeaderTimeout, if not zero, bounds the wait for a
	// response's header once the request is written.
	ResponseHeaderTimeout time.Duration
	// ResponseBodyTimeout, if not zero, bounds each wait for more of a
	// response's body, as nginx's proxy_read_timeout does: a backend that
	// sends its header and then stops sending fails the read with a
	// timeout error (ErrBodyTimeout) instead of holding the request, and
	// its connection, for as long as the client waits. The clock runs only
	// while a Read waits for the backend. It bounds Fallback's responses
	// too (watch.go), except a 101 Switching Protocols: a tunnel may be
	// quiet for as long as its two ends like.
	ResponseBodyTimeout time.Duration
	// Now is the clock for idle timeouts; nil means time.Now.
	Now func() time.Time
	// afterFunc starts the timers that watch Fallback's bodies; nil means
	// time.AfterFunc. A test sets it to run a clock by hand.
	afterFunc func(time.Duration, func()) stopper

	mu      sync.Mutex
	idle    map[string][]*conn // host:port -> idle connections, oldest first
	sweeper *time.Timer        // armed while any connection is idle
	// closeIdle is set by CloseIdleConnections and cleared by the next
	// request: while it is set, connections are closed, not kept.
	closeIdle bool
}

// conn is one connection to a backend and its buffers.
type conn struct {
	nc     net.Conn
	peeker *peeker
	br     *bufio.Reader
	bw     *bufio.Writer
	key    string
	reused bool
	nread  int64  // bytes read since the request was written
	limit  int64  // while reading a header: the most nread may reach
	head   []byte // while reading a header: what was read, from nread headAt on
	headAt int64
	since  time.Time // when it went idle
	// unblock makes a blocked read or write on nc return at once: an
	// exchange's cancellation. Made once with the connection, not once
	// per request (a closure is an allocation).
	unblock func()
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.takes(req) {
		fallback := t.Fallback
		if fallback == nil {
			fallback = http.DefaultTransport
		}
		req = informing(req)
		if t.ResponseBodyTimeout > 0 {
			start := t.afterFunc
			if start == nil {
				start = afterFunc
			}
			return watch(fallback, req, t.ResponseBodyTimeout, start)
		}
		return fallback.RoundTrip(req)
	}
	if err := req.Context().Err(); err != nil {
		return nil, closeBody(req, err)
	}
	key := hostPort(req.URL)
	c, err := t.get(req.Context(), key)
	if err != nil {
		return nil, closeBody(req, err)
	}
	resp, err := t.exchange(c, req)
	if err != nil && c.reused && retryOnFresh(req, c, err) {
		// The backend closed this idle connection before our request
		// reached it: http.Transport retries such requests too.
		if req, err = rewind(req); err != nil {
			return nil, err
		}
		if c, err = t.dial(req.Context(), key); err != nil {
			return nil, closeBody(req, err)
		}
		resp, err = t.exchange(c, req)
	}
	return resp, err
}

// closeBody closes req's body, as a RoundTripper must even when it fails
// before sending it, and returns err.
func closeBody(req *http.Request, err error) error {
	if req.Body != nil {
		req.Body.Close()
	}
	return err
}

// takes reports whether the direct path can send req: never where an idle
// connection cannot be peeked at (canPeek), nor a request that
// http.Transport would refuse to send: one with no host to dial (which
// would dial ":80", this machine) or that it would refuse to write
// (writable).
func (t *Transport) takes(req *http.Request) bool {
	if !canPeek || req.URL == nil || req.URL.Host == "" || req.URL.Scheme != "http" || req.Header.Get("Upgrade") != "" || req.Header.Get("Expect") != "" || !writable(req) {
		return false
	}
	if req.Body == nil || req.Body == http.NoBody {
		return true
	}
	return req.GetBody != nil && req.ContentLength > 0
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

func (t *Transport) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func (t *Transport) idleTimeout() time.Duration {
	if t.IdleTimeout > 0 {
		return t.IdleTimeout
	}
	return 90 * time.Second
}

// rewind returns req with a fresh copy of its body, for a second try.
func rewind(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	r := *req
	r.Body = body
	return &r, nil
}
