package meta_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/leaktest"
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
	tr.DialContext = leaktest.CountingDial(&open)
	cl, c := store(t, 2, meta.Options{Client: &http.Client{Transport: tr}})
	_, err := c.Put(bg, "k", strings.NewReader("confirmed"))
	require.NoError(t, err)
	require.NotZero(t, open.Load(), "the write's confirmations kept no connection open")
	cl.Meta().CloseIdleConnections()
	assert.Eventually(t, func() bool { return open.Load() == 0 }, 10*time.Second, time.Millisecond,
		"connections to the data servers left open")
}
