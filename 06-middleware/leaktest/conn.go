package leaktest

import (
	"context"
	"net"
	"sync/atomic"
)

// CountingDial returns a DialContext for an http.Transport whose
// connections count themselves in open while they are open: a leak test
// sets it, uses the client, closes its idle connections, and waits for
// open to come back to zero (WaitFor). An answer left unclosed holds its
// connection, and shows there.
func CountingDial(open *atomic.Int64) func(ctx context.Context, network, addr string) (net.Conn, error) {
	dial := (&net.Dialer{}).DialContext
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		open.Add(1)
		return &countedConn{Conn: c, open: open}, nil
	}
}

// countedConn is a connection that counts itself out of open, once, when
// closed.
type countedConn struct {
	net.Conn
	open   *atomic.Int64
	closed atomic.Bool
}

func (c *countedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.open.Add(-1)
	}
	return c.Conn.Close()
}
