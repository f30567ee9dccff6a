package gateway

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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

// A client's "Upgrade: h2c" reaches the backend as a plain request (stage
// 03's proxy drops the upgrade), so a backend that would switch to
// cleartext HTTP/2 answers it instead: no tunnel through which requests
// would reach the backend past the route's layers (h2c smuggling).
func TestAnH2CUpgradeOpensNoTunnel(t *testing.T) {
	lenient := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" {
			io.WriteString(w, "upgrade="+r.Header.Get("Upgrade")+" settings="+r.Header.Get("Http2-Settings"))
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\ntunnel")
		brw.Flush()
	}))
	t.Cleanup(lenient.Close)
	_, gw, _ := start(t, fill(`
pools: {p: {targets: ["${A}"]}}
routes: [{path: /, pool: p, middleware: [recover, request-id, access-log]}]
`, []*httptest.Server{lenient}))
	conn, err := net.Dial("tcp", gw.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second))) // a bound on a test that would hang, not a timing
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Equal(t, "upgrade= settings=", string(body))
}
