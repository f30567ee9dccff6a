package rewrite

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
)

// h2cBackend is a backend that switches to h2c when a request asks for
// any upgrade, as a lenient server does, or on every request if always is
// set, and then sends back whatever comes through the tunnel. A request
// it does not switch for is answered with the upgrade fields it got.
func h2cBackend(t *testing.T, always bool) *url.URL {
	return mustParse(t, "http://"+rawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			if always || req.Header.Get("Upgrade") != "" {
				io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
				io.Copy(c, br)
				return
			}
			body := "upgrade=" + req.Header.Get("Upgrade") + " connection=" + req.Header.Get("Connection") + " settings=" + req.Header.Get("Http2-Settings")
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
		}
	}))
}

// TestAnH2CUpgradeIsForwardedAsAPlainRequest: a client's "Upgrade: h2c"
// reaches the backend as a plain HTTP/1.1 request, without Upgrade,
// Connection: Upgrade or HTTP2-Settings. Forwarded, it let a backend that
// speaks cleartext HTTP/2 switch, and the tunnel after the 101 carried
// whatever requests the client liked straight to it, past every check of
// the proxy's (h2c smuggling). A backend that switches unasked gets a 502.
func TestAnH2CUpgradeIsForwardedAsAPlainRequest(t *testing.T) {
	lenient := startProxy(t, New(h2cBackend(t, false), Options{}))
	always := startProxy(t, New(h2cBackend(t, true), Options{}))
	for _, header := range []string{
		"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n",
		"Connection: Upgrade\r\nUpgrade: H2C\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n",
		"Connection: keep-alive, upgrade\r\nUpgrade: websocket, h2c\r\n",
	} {
		request := "GET / HTTP/1.1\r\nHost: x\r\n" + header + "\r\n"
		resp, body := sendRaw(t, lenient, request)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%q: %s", header, body)
		assert.Equal(t, "upgrade= connection= settings=", body, "%q", header)

		resp, body = sendRaw(t, always, request)
		assert.Equal(t, http.StatusBadGateway, resp.StatusCode, "%q: %s", header, body)
	}
}
