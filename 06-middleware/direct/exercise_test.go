//go:build exercise

package direct

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Exercise 4 of chapter 06, part 2: when a backend's idle pool is full,
// drop the oldest idle connection, the one the backend's own idle timeout
// will close first, rather than the one being given back.
//
//	go test -tags exercise -run TestAFullPoolDropsTheOldest ./06-middleware/direct
func TestAFullPoolDropsTheOldest(t *testing.T) {
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	start := time.Unix(1000, 0)
	now := start
	var dialled []*closeTracking // in the order the three requests dialled them
	tr := &Transport{Fallback: &fallback{}, MaxIdlePerHost: 2, Now: func() time.Time { return now },
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			tc := &closeTracking{Conn: c}
			dialled = append(dialled, tc)
			return tc, nil
		}}
	defer tr.CloseIdleConnections()

	var open []*http.Response
	for range 3 { // three at once: three connections
		resp, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL))
		require.NoError(t, err)
		open = append(open, resp)
	}
	for _, resp := range open { // given back one second apart
		now = now.Add(time.Second)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	tr.mu.Lock()
	var since []time.Duration
	for _, list := range tr.idle {
		for _, c := range list {
			since = append(since, c.since.Sub(start))
		}
	}
	tr.mu.Unlock()
	assert.Equal(t, []time.Duration{2 * time.Second, 3 * time.Second}, since,
		"the pool keeps the two newest, oldest first")
	assert.Len(t, tr.idleConns(), 2)
	require.Len(t, dialled, 3, "three requests at once dial three connections")
	var closed []bool
	for _, c := range dialled {
		closed = append(closed, c.closed.Load())
	}
	assert.Equal(t, []bool{true, false, false}, closed,
		"the connection dropped from the pool (the first one given back) must be closed, the two kept must not be: a connection dropped without Close stays open, a leak")
}

// closeTracking is a connection that remembers whether it was closed.
type closeTracking struct {
	net.Conn
	closed atomic.Bool
}

func (c *closeTracking) SyscallConn() (syscall.RawConn, error) { return socketOf(c.Conn) }

func (c *closeTracking) Close() error {
	c.closed.Store(true)
	return c.Conn.Close()
}
