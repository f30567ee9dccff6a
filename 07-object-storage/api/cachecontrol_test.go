package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/api"
)

// cacheCase is a request and the status and Cache-Control of its answer.
type cacheCase struct {
	method, path string
	header       []string
	status       int
	cache        string
}

func (f *fixture) checkCacheControl(t *testing.T, when string, cases ...cacheCase) {
	t.Helper()
	for _, tc := range cases {
		resp, _ := f.do(t, tc.method, tc.path, nil, tc.header...)
		assert.Equal(t, tc.status, resp.StatusCode, "%s: %s %s %q", when, tc.method, tc.path, tc.header)
		assert.Equal(t, tc.cache, resp.Header.Get("Cache-Control"), "%s: %s %s %q", when, tc.method, tc.path, tc.header)
	}
}

// The client keeps a lookup for its TTL (5 s here), so an answer made
// from it may be reused by a shared cache for the whole seconds left of
// that (s-maxage): never past the time the store itself would look the
// key up again. For the latest version a browser still revalidates
// every time (max-age=0, must-revalidate); a numbered version says
// s-maxage only. The seconds count from the lookup, round down, are the
// same on a 200, a 206, a HEAD and both kinds of 304; under a second
// left, the answer is what it is without a cache (no-cache for the
// latest, nothing for a numbered version); a 412 never says more.
func TestSharedCachesMayKeepAnAnswerWhileItsMetadataIsFresh(t *testing.T) {
	f := newAPI(t)
	resp, body := f.do(t, http.MethodPut, "/objects/k", strings.NewReader("0123456789"))
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	etag := resp.Header.Get("ETag")
	lastModified := f.Clock.Now().UTC().Format(http.TimeFormat)
	latest := func(n string) string { return "max-age=0, must-revalidate, s-maxage=" + n }
	every := func(path, cache string) []cacheCase {
		return []cacheCase{
			{http.MethodGet, path, nil, http.StatusOK, cache},
			{http.MethodHead, path, nil, http.StatusOK, cache},
			{http.MethodGet, path, []string{"Range", "bytes=0-1"}, http.StatusPartialContent, cache},
			{http.MethodGet, path, []string{"If-None-Match", etag}, http.StatusNotModified, cache},
			{http.MethodGet, path, []string{"If-Modified-Since", lastModified}, http.StatusNotModified, cache},
			{http.MethodHead, path, []string{"If-None-Match", etag}, http.StatusNotModified, cache},
		}
	}

	// The PUT dropped k's lookups: the first GET looks k up now.
	f.checkCacheControl(t, "a lookup just made", every("/objects/k", latest("5"))...)
	f.Clock.Add(1500 * time.Millisecond)
	f.checkCacheControl(t, "from the cache, 3.5 s left", every("/objects/k", latest("3"))...)
	f.checkCacheControl(t, "a numbered version, looked up now", every("/objects/k?version=1", "s-maxage=5")...)
	f.checkCacheControl(t, "a failed precondition", []cacheCase{
		{http.MethodGet, "/objects/k", []string{"If-Match", `"other"`}, http.StatusPreconditionFailed, "no-cache"},
		{http.MethodGet, "/objects/k?version=1", []string{"If-Match", `"other"`}, http.StatusPreconditionFailed, ""},
	}...)

	f.Clock.Add(3 * time.Second) // 0.5 s left for the latest, 2 s for version 1
	f.checkCacheControl(t, "under a second left", every("/objects/k", "no-cache")...)
	f.checkCacheControl(t, "a numbered version, 2 s left", every("/objects/k?version=1", "s-maxage=2")...)

	f.Clock.Add(500 * time.Millisecond) // the latest's lookup has expired
	f.checkCacheControl(t, "looked up again", every("/objects/k", latest("5"))...)
}

// A write through the API server drops the client's lookups of its key,
// so the next answer is made from a lookup after the write, and its
// freshness starts from there: a shared cache never gets the version
// written over for longer than the store keeps it. (A shared cache the
// write passes through drops what it holds for the URL: RFC 9111,
// section 4.4.)
func TestAWriteRestartsTheFreshness(t *testing.T) {
	f := newAPI(t)
	resp, body := f.do(t, http.MethodPut, "/objects/k", strings.NewReader("first"))
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	f.checkCacheControl(t, "version 1", cacheCase{http.MethodGet, "/objects/k", nil, http.StatusOK, "max-age=0, must-revalidate, s-maxage=5"})
	f.Clock.Add(2 * time.Second)
	f.checkCacheControl(t, "version 1, 3 s left", cacheCase{http.MethodGet, "/objects/k", nil, http.StatusOK, "max-age=0, must-revalidate, s-maxage=3"})

	resp, body = f.do(t, http.MethodPut, "/objects/k", strings.NewReader("second"))
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	resp, body = f.do(t, http.MethodGet, "/objects/k", nil)
	assert.Equal(t, "second", body)
	assert.Equal(t, "max-age=0, must-revalidate, s-maxage=5", resp.Header.Get("Cache-Control"), "after the PUT: fresh from the lookup that found version 2")

	f.Clock.Add(time.Second)
	resp, body = f.do(t, http.MethodDelete, "/objects/k", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	f.checkCacheControl(t, "deleted", []cacheCase{
		{http.MethodGet, "/objects/k", nil, http.StatusNotFound, "no-cache"},
		{http.MethodGet, "/objects/k?version=2", nil, http.StatusOK, "s-maxage=5"},
	}...)
}

// The seconds left are counted by the server's clock (Server.Now), which
// must be the client's: here one that runs two seconds ahead of it.
func TestFreshnessIsCountedByTheServersClock(t *testing.T) {
	var f *fixture
	f = newAPIWith(t, 1024, func(s *api.Server) {
		s.Now = func() time.Time { return f.Clock.Now().Add(2 * time.Second) }
	})
	resp, body := f.do(t, http.MethodPut, "/objects/k", strings.NewReader("first"))
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	f.checkCacheControl(t, "a clock ahead of the client's", cacheCase{http.MethodGet, "/objects/k", nil, http.StatusOK, "max-age=0, must-revalidate, s-maxage=3"})
}
