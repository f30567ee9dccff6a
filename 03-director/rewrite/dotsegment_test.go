package rewrite_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/03-director/rewrite"
)

// A path with a dot segment, written out or escaped, is a 400 that no
// backend sees: with the prefix /api stripped and the target's base path
// /v1, /api/%2e%2e/secret would reach the backend as /v1/../secret, which
// a backend that resolves dot segments serves as /secret, outside both.
// Dots inside a name are not segments, and pass.
func TestDotSegmentsAreRefused(t *testing.T) {
	var reached atomic.Int32
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		io.WriteString(w, r.URL.EscapedPath())
	}))
	t.Cleanup(backend.Close)
	target, err := url.Parse(backend.URL + "/v1")
	require.NoError(t, err)
	for _, hide := range []bool{false, true} {
		proxy := httptest.NewServer(rewrite.New(target, rewrite.Options{StripPrefix: "/api", HideBackend: hide}))
		t.Cleanup(proxy.Close)
		send := func(path string) (int, string) {
			t.Helper()
			req, err := http.NewRequest(http.MethodGet, proxy.URL, nil)
			require.NoError(t, err)
			req.URL.Opaque = path // sent as written, not cleaned
			resp, err := http.DefaultTransport.RoundTrip(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(body)
		}
		for _, path := range []string{
			"/api/../secret", "/api/%2e%2e/secret", "/api/%2E%2E/secret", "/api/.%2e/secret",
			"/api/..%2fsecret", "/api/..%5csecret", `/api/..\secret`, "/api/a/%2e/b", "/api/a/..", "/api/..;x/secret", "/api/..%3b/secret",
		} {
			before := reached.Load()
			code, body := send(path)
			assert.Equal(t, http.StatusBadRequest, code, "%s (hide %v): %s", path, hide, body)
			assert.Contains(t, body, "dot segment", path)
			assert.NotContains(t, body, strings.TrimPrefix(backend.URL, "http://"), "the refusal names no backend")
			assert.Equal(t, before, reached.Load(), "%s reached the backend", path)
		}
		for path, want := range map[string]string{
			"/api/a..b":          "/v1/a..b",
			"/api/.well-known/x": "/v1/.well-known/x",
			"/api/...":           "/v1/...",
			"/api/a%2e":          "/v1/a%2e",
			"/api/a;..":          "/v1/a;..",
		} {
			code, body := send(path)
			assert.Equal(t, http.StatusOK, code, path)
			assert.Equal(t, want, body, path)
		}
	}
}
