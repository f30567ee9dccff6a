package meta_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// The connections a write's confirmations opened to the data servers
// stay open for the next call, and CloseIdleConnections closes them: a
// metadata server stopped while the data servers run on kept them for
// the idle timeout, 90 s.
func TestCloseIdleConnectionsClosesTheCallsConnections(t *testing.T) {
	var open atomic.Int64
	tr := client.NewTransport()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		open.Add(1)
		return &countedConn{Conn: c, open: &open}, nil
	}
	cl, c := store(t, 2, meta.Options{Client: &http.Client{Transport: tr}})
	_, err := c.Put(bg, "k", strings.NewReader("confirmed"))
	require.NoError(t, err)
	require.NotZero(t, open.Load(), "the write's confirmations kept no connection open")
	cl.Meta().CloseIdleConnections()
	assert.Eventually(t, func() bool { return open.Load() == 0 }, 10*time.Second, time.Millisecond,
		"connections to the data servers left open")
}

// countedConn is a connection that counts itself out when closed.
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
