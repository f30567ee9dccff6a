package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTheAdminListenerServesNoSmuggledRequest: the admin listener closes
// the connection after a request whose body came chunked, as the
// gateway's own does, so what follows the last chunk (here a GET that a
// proxy in front, going by the Content-Length, took for body) is never
// served (RFC 9112, section 6.1).
func TestTheAdminListenerServesNoSmuggledRequest(t *testing.T) {
	g, _, _ := start(t, "pools: {p: {targets: [\"http://127.0.0.1:1\"]}}\nroutes: [{pool: p}]\n")
	admin := httptest.NewServer(g.Admin())
	t.Cleanup(admin.Close)
	c, err := net.Dial("tcp", admin.Listener.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second))) // a bound on a hang, not a timing
	const smuggled = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"
	_, err = io.WriteString(c, "POST /admin/reload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"+smuggled)
	require.NoError(t, err)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	io.Copy(io.Discard, resp.Body)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "reload over HTTP is off")
	assert.True(t, resp.Close, "the answer says Connection: close")
	_, err = http.ReadResponse(br, nil)
	assert.Error(t, err, "the GET after the last chunk is not answered")
}
