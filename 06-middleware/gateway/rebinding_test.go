package gateway

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTheAdminListenerOnLoopbackAnswersLoopbackNamesOnly: on a loopback
// address, the admin endpoints answer a request whose Host is localhost,
// a name under .localhost or a loopback address, and refuse any other
// name with 421, the token's endpoint included: a page that rebinds its
// own name to 127.0.0.1 reads nothing. On another address every Host is
// answered.
func TestTheAdminListenerOnLoopbackAnswersLoopbackNamesOnly(t *testing.T) {
	g, _, _ := start(t, "pools: {p: {targets: [\"http://127.0.0.1:1\"]}}\nroutes: [{pool: p}]\nadmin: {token: secret}\n")
	admin := httptest.NewServer(g.Admin())
	t.Cleanup(admin.Close)
	ask := func(method, path, host string) (int, string) {
		req, err := http.NewRequest(method, admin.URL+path, nil)
		require.NoError(t, err)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	for _, host := range []string{"localhost:9090", "LOCALHOST", "localhost.", "admin.localhost:9090", "127.0.0.1:9090", "127.0.0.5", "[::1]:9090"} {
		code, body := ask("GET", "/admin/health", host)
		assert.Equal(t, http.StatusOK, code, "Host %s: %s", host, body)
		code, _ = ask("GET", "/metrics", host)
		assert.Equal(t, http.StatusOK, code, "Host %s", host)
	}
	for _, host := range []string{"evil.example", "evil.example:9090", "localhost.evil.example", "10.0.0.1", "[2001:db8::1]:9090", "127.0.0.1.nip.io"} {
		code, body := ask("GET", "/admin/health", host)
		assert.Equal(t, http.StatusMisdirectedRequest, code, "Host %s", host)
		assert.Contains(t, body, "answers requests for localhost, a name under .localhost or a loopback address only")
		code, _ = ask("GET", "/metrics", host)
		assert.Equal(t, http.StatusMisdirectedRequest, code, "Host %s", host)
		code, _ = ask("POST", "/admin/reload", host)
		assert.Equal(t, http.StatusMisdirectedRequest, code, "Host %s: refused before the token is asked for", host)
	}

	// On another address (no network needed: the handler reads the
	// connection's local address from the request's context).
	req := httptest.NewRequest("GET", "/admin/health", nil)
	req.Host = "gateway.internal:9090"
	req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.ParseIP("10.0.0.7"), Port: 9090}))
	rec := httptest.NewRecorder()
	g.Admin().ServeHTTP(rec, req)
	assert.Equal(t, http.StatusOK, rec.Code, "a listener on a private address answers the names it is reached by")
}
