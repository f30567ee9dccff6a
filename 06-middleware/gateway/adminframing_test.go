package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/02-single-proxy/proxytest"
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
	const smuggled = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"
	answers, _ := proxytest.Exchange(t, admin.Listener.Addr().String(),
		"POST /admin/reload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"+smuggled)
	require.NotEmpty(t, answers, "the reload is answered")
	assert.Equal(t, http.StatusForbidden, answers[0].StatusCode, "reload over HTTP is off")
	assert.True(t, answers[0].Close, "the answer says Connection: close")
	assert.Len(t, answers, 1, "the GET after the last chunk is not answered")
}
