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

// A body cut off mid-way (Content-Length 100, 10 bytes sent, then the
// client closes its writing side) is a 400 that says why once. It read
// "the request body could not be read: reading the request body:
// unexpected EOF", the same words twice.
func TestACutOffBodySaysWhyOnce(t *testing.T) {
	srvs := backends(t, 1)
	for name, retry := range map[string]string{"kept": "", "streamed": ", retry: {max_body_bytes: 5}"} {
		t.Run(name, func(t *testing.T) {
			_, gw, _ := start(t, fill("pools: {p: {targets: [\"${A}\"]"+retry+"}}\nroutes: [{pool: p}]\n", srvs))
			cutOff(t, gw.URL)
		})
	}
}

func cutOff(t *testing.T, url string) {
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "PUT /echo HTTP/1.1\r\nHost: gw\r\nContent-Length: 100\r\n\r\n0123456789")
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "the request body could not be read: unexpected EOF\n", string(body))
}
