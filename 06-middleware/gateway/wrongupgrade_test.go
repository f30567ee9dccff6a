package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAnUpgradeToAnotherProtocolLeavesNoConnection: a backend that
// answers a WebSocket upgrade with a 101 to another protocol gets no
// tunnel (the client a 502), and its connection is closed. The
// ReverseProxy refuses such a 101 without closing its body, the
// upgraded connection, which nothing else closes: each such answer held
// a connection to the backend open for ever.
func TestAnUpgradeToAnotherProtocolLeavesNoConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
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
	_, gw, _ := start(t, `
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
}
