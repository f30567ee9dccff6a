package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestABackendsRedirectComesBackThroughTheRoute: a backend that redirects
// to its own address (as a framework that builds absolute URLs does)
// sends the client back to the gateway, under the route's stripped
// prefix, not to an address the client cannot reach; another host's
// redirect is passed on as sent.
func TestABackendsRedirectComesBackThroughTheRoute(t *testing.T) {
	var self string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		to := self + "/login?next=" + r.URL.Path
		if r.URL.Path == "/away" {
			to = "https://example.com/"
		}
		http.Redirect(w, r, to, http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	self = srv.URL
	_, gw, _ := start(t, fill(`
pools:
  a: {targets: ["${A}"]}
routes:
  - {path: /shop, pool: a, strip_prefix: true}
  - {path: /, pool: a}
`, []*httptest.Server{srv}))
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, want := range map[string]string{
		"/shop/cart": "/shop/login?next=/cart",
		"/cart":      "/login?next=/cart",
		"/shop/away": "https://example.com/",
	} {
		resp, err := noFollow.Get(gw.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusFound, resp.StatusCode, path)
		assert.Equal(t, want, resp.Header.Get("Location"), path)
	}
}
