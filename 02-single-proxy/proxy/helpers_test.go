package proxy_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/02-single-proxy/proxy"
)

// chain starts backend h and a proxy (made by proxy.New) in front of it,
// at target URL back.URL+targetSuffix. It returns the proxy's URL and the
// backend's.
func chain(t *testing.T, h http.Handler, targetSuffix string) (front, back *httptest.Server) {
	t.Helper()
	back = httptest.NewServer(h)
	t.Cleanup(back.Close)
	target, err := proxy.ParseTarget(back.URL + targetSuffix)
	require.NoError(t, err)
	front = httptest.NewServer(proxy.New(target, nil))
	t.Cleanup(front.Close)
	return front, back
}

// echoThrough sends req through the proxy front and decodes the backend's
// /echo answer: the request as the backend received it.
func echoThrough(t *testing.T, front *httptest.Server, req *http.Request) backend.Echo {
	t.Helper()
	resp, err := front.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s through the proxy", req.Method, req.URL)
	var e backend.Echo
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
	return e
}

func newRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	return req
}

// getBody sends GET url with client and returns the answer and its body.
func getBody(t *testing.T, client *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := client.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

// echoAnyPath answers every path the way the demo backend's /echo does.
// The demo backend serves /echo at exactly that path, so a proxy whose
// target has a base path (/base/echo) needs this stand-in to show what
// arrives.
func echoAnyPath(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(backend.Echo{
		Backend:    "any-path",
		Method:     r.Method,
		Host:       r.Host,
		Path:       r.URL.Path,
		RawQuery:   r.URL.RawQuery,
		RemoteAddr: r.RemoteAddr,
		Headers:    r.Header,
	})
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}
