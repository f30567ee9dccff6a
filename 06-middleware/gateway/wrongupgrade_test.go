package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/deadaddr"
)

// TestAnUpgradeToAnotherProtocolLeavesNoConnection: a backend that
// answers a WebSocket upgrade with a 101 to another protocol gets no
// tunnel (the client a 502), and its connection is closed. The
// ReverseProxy refuses such a 101 without closing its body, the
// upgraded connection, which nothing else closes: each such answer held
// a connection to the backend open for ever.
func TestAnUpgradeToAnotherProtocolLeavesNoConnection(t *testing.T) {
	ln := deadaddr.Listen(t) // closed below, it keeps refusing
	t.Cleanup(func() { ln.Close() })
	closed := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			closed <- err
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			closed <- err
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: other\r\n\r\n")
		_, err = br.ReadByte() // until the gateway closes the connection
		closed <- err
	}()
	g, gw, _ := start(t, `
pools: {p: {targets: ["http://`+ln.Addr().String()+`"], retry: {tries: 1}}}
routes: [{pool: p}]
`)
	req, err := http.NewRequest("GET", gw.URL+"/ws", nil)
	require.NoError(t, err)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode, string(body))
	assert.True(t, strings.Contains(string(body), "other"), "the error names the protocol: %s", body)
	assert.ErrorIs(t, receive(t, closed, "the gateway to close the backend's connection"), io.EOF)

	// The backend's answer was no answer: a failed attempt, which passive
	// health counts (with max_fails 1, the only backend is out: a 503).
	admin := httptest.NewServer(g.Admin())
	defer admin.Close()
	assert.Contains(t, metrics(t, admin.URL), `gateway_upstream_failures_total{pool="p",target="http://`+ln.Addr().String()+`"} 1`)
	ln.Close() // were it picked again, a refused connection: a 502
	code, body2 := get(t, gw.URL+"/")
	assert.Equal(t, http.StatusServiceUnavailable, code, "passive health took the backend out: %s", body2)
}

// switchedAsAsked accepts the protocol asked for whatever its case (a
// backend may answer "WebSocket" to "websocket", as the ReverseProxy
// allows), with "upgrade" among the Connection tokens, and refuses
// another protocol, none, or one with a control character. A 101 taken
// for a wrong one costs the client its tunnel and the backend a Failure.
func TestSwitchedAsAsked(t *testing.T) {
	h := func(kv ...string) http.Header {
		hd := http.Header{}
		for i := 0; i+1 < len(kv); i += 2 {
			hd.Add(kv[i], kv[i+1])
		}
		return hd
	}
	asked := h("Connection", "Upgrade", "Upgrade", "websocket")
	for _, tc := range []struct {
		name string
		res  http.Header
		ok   bool
	}{
		{"the same", h("Connection", "Upgrade", "Upgrade", "websocket"), true},
		{"another case", h("Connection", "upgrade", "Upgrade", "WebSocket"), true},
		{"among other tokens", h("Connection", "keep-alive, Upgrade", "Upgrade", "websocket"), true},
		{"in a second field", h("Connection", "keep-alive", "Connection", "upgrade", "Upgrade", "websocket"), true},
		{"another protocol", h("Connection", "Upgrade", "Upgrade", "h2c"), false},
		{"no Upgrade", h("Connection", "Upgrade"), false},
		{"no upgrade token", h("Connection", "keep-alive", "Upgrade", "websocket"), false},
		{"a control character", h("Connection", "Upgrade", "Upgrade", "web\x01socket"), false},
	} {
		err := switchedAsAsked(asked, tc.res)
		assert.Equal(t, tc.ok, err == nil, "%s: %v", tc.name, err)
	}
}

// TestAnUpgradeToAnUnprintableProtocolIsTheClientsMistake: a client that
// asks to upgrade to a protocol whose name is not printable ASCII gets a
// 400, and no backend sees the request. httputil.ReverseProxy refuses to
// forward it through its ErrorHandler, which answered 502, as if the
// backend had failed: the breaker counted each such request against the
// route, and two of them closed it to every client. Without the upgrade
// token in Connection, Upgrade is only a hop-by-hop field: the request
// goes on without it, as the ReverseProxy would send it.
func TestAnUpgradeToAnUnprintableProtocolIsTheClientsMistake(t *testing.T) {
	var hits atomic.Int32
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(counting.Close)
	_, gw, _ := start(t, fill(`
pools: {p: {targets: ["${A}"]}}
routes: [{pool: p, middleware: [{name: breaker, failures: 2}]}]
`, []*httptest.Server{counting}))
	raw := func(header string) (int, string) {
		conn, err := net.Dial("tcp", gw.Listener.Addr().String())
		require.NoError(t, err)
		defer conn.Close()
		require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second))) // a bound on a test that would hang, not a timing
		_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n"+header+"\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for _, header := range []string{
		"Connection: Upgrade\r\nUpgrade: w\xc3\xa9bsocket\r\n",
		"Connection: keep-alive, upgrade\r\nUpgrade: web\tsocket\r\n",
		"Connection: UPGRADE\r\nUpgrade: \xff\r\n",
	} {
		code, body := raw(header)
		assert.Equal(t, http.StatusBadRequest, code, "%q: %s", header, body)
		assert.Contains(t, body, "is not a protocol name", "%q", header)
	}
	assert.Zero(t, hits.Load(), "no backend saw them")

	code, body := raw("Upgrade: w\xc3\xa9bsocket\r\n") // no upgrade token in Connection
	assert.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, int32(1), hits.Load())
	code, body = get(t, gw.URL+"/")
	assert.Equal(t, http.StatusOK, code, "the breaker counted no failure: %s", body)
}
