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
	"io"
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
	// timeout.
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
	// Now is the clock for idle timeouts; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	idle    map[string][]*conn // host:port -> idle connections, oldest first
	sweeper *time.Timer        // armed while any connection is idle
}

// conn is one connection to a backend and its buffers.
type conn struct {
	nc     net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	key    string
	reused bool
	nread  int64     // bytes read since the request was written
	since  time.Time // when it went idle
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.takes(req) {
		if t.Fallback == nil {
			return http.DefaultTransport.RoundTrip(req)
		}
		return t.Fallback.RoundTrip(req)
	}
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	key := hostPort(req.URL)
	c, err := t.get(req.Context(), key, !repeatable(req))
	if err != nil {
		return nil, err
	}
	resp, err := t.exchange(c, req)
	if err != nil && c.reused && retryOnFresh(req, c, err) {
		// The backend closed this idle connection before our request
		// reached it: http.Transport retries such requests too.
		if req, err = rewind(req); err != nil {
			return nil, err
		}
		if c, err = t.dial(req.Context(), key); err != nil {
			return nil, err
		}
		resp, err = t.exchange(c, req)
	}
	return resp, err
}

// takes reports whether the direct path can send req.
func (t *Transport) takes(req *http.Request) bool {
	if req.URL.Scheme != "http" || req.Header.Get("Upgrade") != "" || req.Header.Get("Expect") != "" {
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

// get returns an idle connection to key, or a new one. With check, an
// idle connection is first checked to be still open (see alive): a
// request that must not be sent twice cannot be retried if the backend
// turns out to have closed it.
func (t *Transport) get(ctx context.Context, key string, check bool) (*conn, error) {
	for {
		c := t.takeIdle(key)
		if c == nil {
			return t.dial(ctx, key)
		}
		if !check || alive(c.nc) {
			return c, nil
		}
		c.nc.Close()
	}
}

// takeIdle removes the most recently used idle connection to key from the
// pool and returns it, or nil if there is none. The most recent is the
// least likely to have been closed by the backend; the ones it finds past
// IdleTimeout it closes.
func (t *Transport) takeIdle(key string) *conn {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for list := t.idle[key]; len(list) > 0; list = t.idle[key] {
		c := list[len(list)-1]
		list[len(list)-1] = nil
		t.idle[key] = list[:len(list)-1]
		if now.Sub(c.since) < t.idleTimeout() {
			return c
		}
		c.nc.Close()
	}
	return nil
}

func (t *Transport) dial(ctx context.Context, key string) (*conn, error) {
	dial := t.DialContext
	if dial == nil {
		dial = defaultDialer.DialContext
	}
	nc, err := dial(ctx, "tcp", key)
	if err != nil {
		return nil, err
	}
	c := &conn{nc: nc, key: key}
	c.br = bufio.NewReaderSize(countingReader{nc, &c.nread}, 4096)
	c.bw = bufio.NewWriterSize(nc, 4096)
	return c, nil
}

var defaultDialer = &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}

// put returns c to the idle pool, or closes it if the pool is full or c
// holds bytes nobody asked for.
func (t *Transport) put(c *conn) {
	if c.br.Buffered() > 0 {
		c.nc.Close()
		return
	}
	c.reused = true
	c.nread = 0
	c.since = t.now()
	max := t.MaxIdlePerHost
	if max <= 0 {
		max = 256
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.idle[c.key]) >= max {
		c.nc.Close()
		return
	}
	if t.idle == nil {
		t.idle = map[string][]*conn{}
	}
	t.idle[c.key] = append(t.idle[c.key], c)
	if t.sweeper == nil {
		t.sweeper = time.AfterFunc(t.idleTimeout(), t.sweep)
	}
}

// sweep closes the idle connections past IdleTimeout, so that a pool that
// was busy once does not hold its connections open for ever. It runs on
// a timer while any connection is idle.
func (t *Transport) sweep() {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweeper = nil
	for key, list := range t.idle {
		// Oldest first: the fresh ones are at the end.
		n := 0
		for n < len(list) && now.Sub(list[n].since) >= t.idleTimeout() {
			list[n].nc.Close()
			n++
		}
		list = append(list[:0], list[n:]...)
		clear(list[len(list) : len(list)+n]) // drop the closed ones' pointers
		if len(list) == 0 {
			delete(t.idle, key)
		} else {
			t.idle[key] = list
		}
	}
	if len(t.idle) > 0 {
		t.sweeper = time.AfterFunc(t.idleTimeout(), t.sweep)
	}
}

// CloseIdleConnections closes every idle connection; those in use are
// closed when their response is done with.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, list := range idle {
		for _, c := range list {
			c.nc.Close()
		}
	}
	if f, ok := t.Fallback.(interface{ CloseIdleConnections() }); ok {
		f.CloseIdleConnections()
	}
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

// countingReader counts the bytes read from a connection, so that a
// failure can tell whether the backend had answered anything at all.
type countingReader struct {
	r io.Reader
	n *int64
}

func (r countingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	*r.n += int64(n)
	return n, err
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
