package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/config"
)

// A route's cache answers a repeated GET without its backend, through
// the real proxy and transport, and with every layer further out still
// run on the hit (a request id of its own); a PUT through the route drops
// the answer, so the next GET sees the backend's new content.
func TestCacheFromConfig(t *testing.T) {
	var gets atomic.Int32
	var content atomic.Value
	content.Store("v1")
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			b, _ := io.ReadAll(r.Body)
			content.Store(string(b))
			w.WriteHeader(http.StatusCreated)
			return
		}
		gets.Add(1)
		w.Header().Set("Cache-Control", "max-age=0, must-revalidate, s-maxage=60")
		io.WriteString(w, content.Load().(string))
	}))
	t.Cleanup(backend.Close)
	_, gw, _ := start(t, `
pools:
  p: {targets: ["`+backend.URL+`"]}
routes:
  - pool: p
    middleware: [recover, request-id, access-log, metrics, {name: cache, max_bytes: 1048576, max_entry_bytes: 65536}]
`)
	fetch := func() (string, http.Header) {
		t.Helper()
		resp, err := http.Get(gw.URL + "/objects/a")
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		return string(b), resp.Header
	}
	body, first := fetch()
	assert.Equal(t, "v1", body)
	body, second := fetch()
	assert.Equal(t, "v1", body)
	assert.Equal(t, int32(1), gets.Load(), "the second GET is answered by the gateway")
	assert.True(t, strings.HasPrefix(second.Get("Cache-Status"), "gateway; hit; ttl="), second.Get("Cache-Status"))
	assert.NotEqual(t, first.Get("X-Request-Id"), second.Get("X-Request-Id"), "request-id, further out, runs on a hit")

	code, _ := do(t, http.DefaultClient, http.MethodPut, gw.URL+"/objects/a", nil, "v2")
	require.Equal(t, http.StatusCreated, code)
	body, _ = fetch()
	assert.Equal(t, "v2", body, "the PUT dropped the kept answer")
	assert.Equal(t, int32(2), gets.Load())
}

// A cache further out than auth would answer, from memory, requests auth
// refuses: the file is refused.
func TestCacheBeforeAuthIsRefused(t *testing.T) {
	_, err := config.Parse("c.yaml", []byte(`
pools: {p: {targets: ["http://h:1"]}}
routes:
  - pool: p
    middleware:
      - cache
      - {name: auth, api_keys: [{id: a, key: k}]}
  - pool: p
    path: /ok
    middleware:
      - {name: auth, api_keys: [{id: a, key: k}]}
      - cache
`), DefaultRegistry())
	require.Error(t, err)
	assert.Equal(t, "c.yaml:6: routes[0].middleware[0]: cache comes before auth (middleware[1]): it would answer from memory requests that auth refuses; put it after auth", err.Error())
}

func TestCacheOptionsAreChecked(t *testing.T) {
	_, err := config.Parse("c.yaml", []byte(`
pools: {p: {targets: ["http://h:1"]}}
routes:
  - pool: p
    middleware:
      - {name: cache, max_bytes: 0, max_entry_bytes: -1}
      - {name: cache, max_bytes: 100, max_entry_bytes: 200}
`), DefaultRegistry())
	require.Error(t, err)
	assert.Equal(t, strings.Join([]string{
		"c.yaml:6: routes[0].middleware[0]: cache: max_bytes: want a positive size in bytes, got 0: leave max_bytes out for the default, 67108864",
		"c.yaml:6: routes[0].middleware[0]: cache: max_entry_bytes: want a positive size in bytes, got -1: leave max_entry_bytes out for the default, 1048576",
		"c.yaml:7: routes[0].middleware[1]: cache: max_entry_bytes: 200 is more than the whole cache may hold (max_bytes: 100)",
	}, "\n"), err.Error())
}

// A reload keeps a route's layers when it changes neither the route nor
// its pool (TestChainIsBuiltOncePerRouteAndLoad), and the cache is one of
// them: what it holds is still served. A reload that changes the route
// builds it a new cache, empty.
func TestAReloadEmptiesTheCacheOnlyOfAChangedRoute(t *testing.T) {
	var gets atomic.Int32
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "kept")
	}))
	t.Cleanup(backend.Close)
	src := &fakeSource{text: `
pools:
  p: {targets: ["` + backend.URL + `"]}
routes:
  - pool: p
    middleware: [request-id, {name: cache, max_bytes: 1048576}]
`}
	g, err := New(context.Background(), src.read, Options{ManualChecks: true, Logger: discardLogger()})
	require.NoError(t, err)
	defer g.Close()
	status := func() string {
		t.Helper()
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest("GET", "/a", nil))
		require.Equal(t, http.StatusOK, rec.Code)
		return rec.Header().Get("Cache-Status")
	}

	assert.Equal(t, "gateway; fwd=uri-miss", status())
	src.set("# every line one lower\n" + src.text)
	require.NoError(t, g.Reload())
	assert.True(t, strings.HasPrefix(status(), "gateway; hit;"), "after a reload that changed no route, the answer kept before it is served")
	assert.Equal(t, int32(1), gets.Load())

	src.set(strings.Replace(src.text, "max_bytes: 1048576", "max_bytes: 2097152", 1))
	require.NoError(t, g.Reload())
	assert.Equal(t, "gateway; fwd=uri-miss", status(), "a changed route has a new cache, empty")
	assert.Equal(t, int32(2), gets.Load())
}
