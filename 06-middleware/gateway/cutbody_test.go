package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A body cut off mid-way (Content-Length 100, 10 bytes sent, then the
// client closes its writing side) is a 400 that says why once. It read
// "the request body could not be read: reading the request body:
// unexpected EOF", the same words twice, kept or streamed.
func TestACutOffBodySaysWhyOnce(t *testing.T) {
	srvs := backends(t, 1)
	const pool = "pools: {p: {targets: [\"${A}\"]%s}}\nroutes: [{pool: p}]\n"
	t.Run("kept", func(t *testing.T) {
		_, gw, _ := start(t, fill(strings.Replace(pool, "%s", "", 1), srvs))
		c, err := net.Dial("tcp", strings.TrimPrefix(gw.URL, "http://"))
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
	})
	// Streamed, the same through a real connection is a race in net/http:
	// the server takes the closed writing side for a client gone, cancels
	// the request, and the gateway's answer is then a 499 that nobody is
	// meant to read. The request is handed to the gateway directly
	// instead, with a body that breaks off as net/http's does.
	t.Run("streamed", func(t *testing.T) {
		g, _, _ := start(t, fill(strings.Replace(pool, "%s", ", retry: {max_body_bytes: 5}", 1), srvs))
		req := httptest.NewRequest("PUT", "/echo", io.MultiReader(strings.NewReader("0123456789"), brokenBody{}))
		req.ContentLength = 100
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Equal(t, "the request body could not be read: unexpected EOF\n", rec.Body.String())
	})
}
