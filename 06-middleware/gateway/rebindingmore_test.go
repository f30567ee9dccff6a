package gateway

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/02-single-proxy/proxytest"
)

// TestTheAdminListenerAnswersARequestWithoutHost: an HTTP/1.0 request may
// come without a Host (a script, nc), and no browser sends one so: it is
// no rebinding, and the loopback listener answers it.
func TestTheAdminListenerAnswersARequestWithoutHost(t *testing.T) {
	g, _, _ := start(t, "pools: {p: {targets: [\"http://127.0.0.1:1\"]}}\nroutes: [{pool: p}]\n")
	admin := httptest.NewServer(g.Admin())
	t.Cleanup(admin.Close)
	answers, _ := proxytest.Exchange(t, admin.Listener.Addr().String(), "GET /admin/health HTTP/1.0\r\n\r\n")
	require.NotEmpty(t, answers, "the request is answered")
	assert.Equal(t, http.StatusOK, answers[0].StatusCode)
}

// TestTheAdminListenerGoesByTheAddressAConnectionCameIn: the check is
// made on the local address of each connection, so a listener on every
// address (0.0.0.0, or [::] that takes IPv4 too) checks the connections
// that came in over loopback, IPv4 loopback seen as ::ffff:127.0.0.1
// included, and a rebinding to 127.0.0.1 gains nothing there either.
func TestTheAdminListenerGoesByTheAddressAConnectionCameIn(t *testing.T) {
	g, _, _ := start(t, "pools: {p: {targets: [\"http://127.0.0.1:1\"]}}\nroutes: [{pool: p}]\n")
	for _, c := range []struct {
		local, host string
		want        int
	}{
		{"::ffff:127.0.0.1", "evil.example", http.StatusMisdirectedRequest},
		{"::ffff:127.0.0.1", "[::ffff:127.0.0.1]:9090", http.StatusOK},
		{"127.0.0.1", "evil.example", http.StatusMisdirectedRequest},
		{"192.0.2.7", "evil.example", http.StatusOK}, // another address: its names are the network's
	} {
		req := httptest.NewRequest("GET", "/admin/health", nil)
		req.Host = c.host
		req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.ParseIP(c.local), Port: 9090}))
		rec := httptest.NewRecorder()
		g.Admin().ServeHTTP(rec, req)
		assert.Equal(t, c.want, rec.Code, "Host %s on a connection to %s", c.host, c.local)
	}
}
