package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/07-object-storage/api"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// Chapter 06's cache in front of an API server, both on the test's
// clock, serves no answer older than the API server itself would: a write
// made elsewhere (another client of the store) is seen through the cache
// by the time the API server's lookup of the key expires, within the TTL
// (5 s), however far into a second the answer was made. A write through
// the cache is seen at once.
func TestASharedCacheServesNothingOlderThanTheStore(t *testing.T) {
	var h *api.Server
	f := newAPIWith(t, 1024, func(s *api.Server) { h = s })
	front := httptest.NewServer(middleware.NewCache(middleware.CacheConfig{Now: f.Clock.Now}).Wrap(h))
	t.Cleanup(front.Close)
	elsewhere := client.New(client.Options{MetaURL: f.MetaURL, TempDir: t.TempDir(), Now: f.Clock.Now, Log: storetest.Quiet})
	// get sends a GET or HEAD (method, then header fields; GET if none).
	get := func(path string, methodAndHeader ...string) (string, http.Header) {
		t.Helper()
		req, err := http.NewRequest(append(methodAndHeader, http.MethodGet)[0], front.URL+path, nil)
		require.NoError(t, err)
		for i := 1; i+1 < len(methodAndHeader); i += 2 {
			req.Header.Set(methodAndHeader[i], methodAndHeader[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return string(b), resp.Header
	}
	put := func(body string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPut, front.URL+"/objects/k", strings.NewReader(body))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Less(t, resp.StatusCode, 300)
	}

	put("one")
	f.Clock.Add(700 * time.Millisecond) // into a second: the API server rounds down
	body, header := get("/objects/k")
	require.Equal(t, "one", body)
	require.Equal(t, "max-age=0, must-revalidate, s-maxage=5", header.Get("Cache-Control"))
	// An answer made 0.3 s into the lookup's life, from the API server's
	// cache (no-cache takes it past the shared one, and replaces what it
	// kept): 4.7 s left, rounded down to 4.
	f.Clock.Add(300 * time.Millisecond)
	_, header = get("/objects/k", http.MethodGet, "Cache-Control", "no-cache")
	assert.Equal(t, "max-age=0, must-revalidate, s-maxage=4", header.Get("Cache-Control"))
	_, header = get("/objects/k")
	require.Contains(t, header.Get("Cache-Status"), "hit", "the cache keeps the answer")
	_, err := elsewhere.Put(context.Background(), "k", strings.NewReader("two"))
	require.NoError(t, err)

	// The lookup was made 0.7 s after the PUT, so it expires at 5.7 s;
	// the clock now reads 1 s.
	for _, step := range []time.Duration{time.Second, 2 * time.Second, 1600 * time.Millisecond, 100 * time.Millisecond} {
		f.Clock.Add(step)
		resp, want := f.do(t, http.MethodGet, "/objects/k", nil) // the API server alone
		require.Equal(t, http.StatusOK, resp.StatusCode)
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			body, header := get("/objects/k", method)
			if method == http.MethodHead {
				assert.Equal(t, resp.Header.Get("ETag"), header.Get("ETag"), "HEAD through the cache, a further %s on", step)
				continue
			}
			assert.Equal(t, want, body, "GET through the cache, a further %s on (%s)", step, header.Get("Cache-Status"))
		}
	}
	body, _ = get("/objects/k")
	assert.Equal(t, "two", body, "5 s after the lookup")

	put("three")
	body, _ = get("/objects/k")
	assert.Equal(t, "three", body, "a write through the cache")
	body, _ = get("/objects/k?version=2")
	assert.Equal(t, "two", body)
}
