package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/05-balancers/balancer"
	"github.com/gocourse/gateway/06-middleware/config"
)

// The built-in configuration is the chapter's tour: `go run
// ./06-middleware` with no flags is meant to show every balancer and every
// middleware, so one added to the course and left out of the tour fails
// here.
func TestTheBuiltInConfigurationShowsEveryBalancerAndMiddleware(t *testing.T) {
	cfg, err := config.Parse("gateway.yaml", substitute(builtIn, []string{"http://a:1", "http://b:1", "http://c:1"}), DefaultRegistry())
	require.NoError(t, err)
	var balancers, middleware []string
	for _, p := range cfg.Pools {
		balancers = append(balancers, p.Balancer)
	}
	for _, r := range cfg.Routes {
		for _, m := range r.Middleware {
			middleware = append(middleware, m.Name)
		}
	}
	sorted := func(s []string) []string { slices.Sort(s); return slices.Compact(s) }
	if diff := cmp.Diff(balancer.Names(), sorted(balancers)); diff != "" {
		t.Errorf("balancers of the built-in pools (-every balancer +shown):\n%s", diff)
	}
	if diff := cmp.Diff(DefaultRegistry().Names(), sorted(middleware)); diff != "" {
		t.Errorf("middleware of the built-in routes (-every middleware +shown):\n%s", diff)
	}
}

// The built-in /cached route shows the cache as the chapter's transcript
// does, in front of the demo backends: the first GET of
// /cached/cacheable/30 goes to a backend (fwd=uri-miss), the second is
// answered from memory (a hit, with an Age) with the very same answer,
// and the backends were asked once.
func TestTheBuiltInCachedRouteAnswersTheSecondGetFromMemory(t *testing.T) {
	var asked atomic.Int32
	urls := make([]string, 3)
	for i := range urls {
		h := backend.New(backend.Name(i))
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/cacheable/") {
				asked.Add(1)
			}
			h.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		urls[i] = srv.URL
	}
	_, gw, _ := start(t, string(substitute(builtIn, urls)))

	fetch := func() (string, http.Header) {
		t.Helper()
		resp, err := http.Get(gw.URL + "/cached/cacheable/30")
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
		return string(b), resp.Header
	}
	first, h1 := fetch()
	second, h2 := fetch()
	assert.True(t, strings.HasPrefix(first, "backend "), "the backend's answer: %q", first)
	assert.Equal(t, "max-age=30", h1.Get("Cache-Control"))
	assert.Equal(t, "gateway; fwd=uri-miss", h1.Get("Cache-Status"))
	assert.Empty(t, h1.Values("Age"), "an answer fresh from the backend")
	assert.True(t, strings.HasPrefix(h2.Get("Cache-Status"), "gateway; hit; ttl="), h2.Get("Cache-Status"))
	assert.NotEmpty(t, h2.Get("Age"), "a hit says how old it is")
	assert.Equal(t, first, second, "the same answer, time included")
	assert.Equal(t, h1.Get(backend.HeaderName), h2.Get(backend.HeaderName))
	assert.NotEqual(t, h1.Get("X-Request-Id"), h2.Get("X-Request-Id"), "request-id, outside the cache, runs on a hit")
	assert.Equal(t, int32(1), asked.Load(), "requests for /cacheable that reached a backend")
}

// The built-in api.localhost route is the one the chapter's "Try also"
// and the file's comment send curl to: 401 without a key, the backend's
// answer with demo-key, and a preflight from the page origin its cors
// names, asking to send X-Api-Key, granted at the gateway.
func TestTheBuiltInAPIRouteTakesItsDemoKey(t *testing.T) {
	var urls []string
	for _, srv := range backends(t, 3) {
		urls = append(urls, srv.URL)
	}
	_, gw, _ := start(t, string(substitute(builtIn, urls)))
	api := http.Header{"Host": {"api.localhost:8080"}}

	r := send(t, http.DefaultClient, "GET", gw.URL+"/", api, "")
	assert.Equal(t, http.StatusUnauthorized, r.code, r.body)
	r = send(t, http.DefaultClient, "GET", gw.URL+"/", http.Header{"Host": api["Host"], "X-Api-Key": {"demo-key"}}, "")
	assert.Equal(t, http.StatusOK, r.code, r.body)
	assert.NotEmpty(t, r.backend, "a backend answered")

	req, err := http.NewRequest(http.MethodOptions, gw.URL+"/", nil)
	require.NoError(t, err)
	req.Host = "api.localhost:8080"
	req.Header.Set("Origin", "http://localhost:3000")
	req.Header.Set("Access-Control-Request-Method", "GET")
	req.Header.Set("Access-Control-Request-Headers", "x-api-key")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode, "the preflight, answered at the gateway")
	assert.Equal(t, "http://localhost:3000", resp.Header.Get("Access-Control-Allow-Origin"))
}
