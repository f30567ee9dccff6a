package direct

import (
	"bufio"
	"context"
	"net"
	"time"
)

// The idle pool: connections a response has finished with, per backend,
// waiting for the next request. Taken last in, first out; closed when
// full, past IdleTimeout, or told to.

// get returns an idle connection to key, or a new one. An idle
// connection is first checked to be still open and silent (see peeker):
// nobody reads a connection while it is idle, so a backend that closed it,
// or wrote to it (a "408 Request Timeout" before closing, a stray
// response), would otherwise go unnoticed until a request is written on
// it, and a stray response would be taken as that request's answer.
func (t *Transport) get(ctx context.Context, key string) (*conn, error) {
	for {
		c := t.takeIdle(key)
		if c == nil {
			return t.dial(ctx, key)
		}
		if c.peeker.alive() {
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
	t.closeIdle = false // in use again
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
	c := &conn{nc: nc, key: key, peeker: newPeeker(nc), unblock: func() { nc.SetDeadline(aLongTimeAgo) }}
	c.br = bufio.NewReaderSize(connReader{c}, 4096)
	c.bw = bufio.NewWriterSize(nc, 4096)
	return c, nil
}

var defaultDialer = &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}

// put returns c to the idle pool, or closes it if the pool is full, c
// holds bytes nobody asked for, or it could not be checked before its
// next use (blind).
func (t *Transport) put(c *conn) {
	if c.br.Buffered() > 0 || c.peeker.blind() {
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
	if t.closeIdle || len(t.idle[c.key]) >= max {
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

// CloseIdleConnections closes every idle connection. Those in use are
// closed when their response is done with, unless a new request comes
// first: a pool that a reload replaced keeps nothing open once its last
// requests finish. It disarms the sweep, with nothing idle left to sweep:
// its timer holds the transport, and would keep a replaced pool's from
// being collected for IdleTimeout. A sweep already under way (Stop too
// late) disarms itself, finding nothing idle.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.closeIdle = true
	if t.sweeper != nil && t.sweeper.Stop() {
		t.sweeper = nil
	}
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

// connReader reads from a connection for its bufio.Reader. It counts the
// bytes, so that a failure can tell whether the backend had answered
// anything at all, and while a response header is read it stops at
// maxHeaderBytes, so that a backend cannot make the proxy buffer headers
// without end, and keeps a copy of what it read (conn.head), so that
// exchange can see the fields http.ReadResponse deletes.
type connReader struct{ c *conn }

func (r connReader) Read(p []byte) (int, error) {
	c := r.c
	if c.limit > 0 {
		if c.nread >= c.limit {
			return 0, errHeaderTooLarge
		}
		p = p[:min(int64(len(p)), c.limit-c.nread)]
	}
	n, err := c.nc.Read(p)
	if c.limit > 0 {
		c.head = append(c.head, p[:n]...)
	}
	c.nread += int64(n)
	return n, err
}
