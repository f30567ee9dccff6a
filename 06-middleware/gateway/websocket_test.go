package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/06-middleware/middleware/upgradetest"
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

// An upstream that answers a WebSocket upgrade with its own X-Request-Id
// and "Access-Control-Allow-Origin: *": the 101 the client reads off the
// wire carries one X-Request-Id, the gateway's, and the
// Access-Control-Allow-Origin the route's cors layer decides (none for an
// origin it refuses). The ReverseProxy writes a 101 itself on the
// hijacked connection, so the layers cannot set their fields in
// WriteHeader as they do for any other answer.
func TestWebSocketUpgradeCarriesTheGatewaysFields(t *testing.T) {
	upstream := upgradetest.Upstream(t)
	_, gw, _ := start(t, `
pools: {p: {targets: ["`+upstream.URL+`"]}}
routes:
  - path: /
    pool: p
    middleware:
      - recover
      - request-id
      - access-log
      - metrics
      - {name: cors, origins: ["https://app.example"]}
      - {name: body-limit, max_bytes: 1048576}
      - {name: timeout, after: 1h}
      - body-timeout
      - {name: breaker, failures: 5, cooldown: 1m}
`)
	for _, tc := range []struct{ origin, allowed string }{
		{"https://app.example", "https://app.example"},
		{"https://evil.example", ""}, // the layer's list decides, not the upstream's "*"
	} {
		got := upgradetest.Upgrade(t, gw, tc.origin)
		var want []string
		if tc.allowed != "" {
			want = []string{tc.allowed}
		}
		if diff := cmp.Diff(want, got.Values("Access-Control-Allow-Origin")); diff != "" {
			t.Errorf("origin %s: Access-Control-Allow-Origin (-want +got):\n%s", tc.origin, diff)
		}
		if diff := cmp.Diff([]string{"client-id"}, got.Values("X-Request-Id")); diff != "" {
			t.Errorf("origin %s: X-Request-Id (-want +got):\n%s", tc.origin, diff)
		}
	}
}
