package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
)

// A WebSocket upgrade passes through a route's onion and the pool: the
// pool hands the 101 response's connection to the ReverseProxy untouched.
func TestWebSocketThroughTheGateway(t *testing.T) {
	srvs := backends(t, 1)
	_, gw, _ := start(t, fill(`
pools: {p: {targets: ["${A}"]}}
routes:
  - {path: /, pool: p, middleware: [recover, request-id, access-log, metrics]}
`, srvs))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, err := backend.DialWebSocket(ctx, gw.URL+"/ws")
	require.NoError(t, err)
	defer ws.Close()
	require.NoError(t, ws.Send("hello"))
	got, err := ws.Receive()
	require.NoError(t, err)
	assert.Contains(t, got, "hello")
}
