package legacy

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/03-director/rewrite"
)

// echoAnyPath answers every path with what backend A's /echo would say:
// the target below has a base path, which the demo backend does not serve.
func echoAnyPath(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(backend.Echo{
		Method: r.Method, Host: r.Host, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Headers: r.Header,
	})
}

// TestDirectorIsTheSameProxyApartFromItsFlaws sends the same request, with
// forged forwarding headers but without the two attacks, through the
// Director version and through the Rewrite version: the backend sees the
// same request from both.
func TestDirectorIsTheSameProxyApartFromItsFlaws(t *testing.T) {
	back := httptest.NewServer(http.HandlerFunc(echoAnyPath))
	defer back.Close()
	target, err := proxy.ParseTarget(back.URL + "/base?k=1")
	require.NoError(t, err)
	header := http.Header{"X-Gateway": {"03-director"}}
	director := httptest.NewServer(New(target, header))
	defer director.Close()
	rewritten := httptest.NewServer(rewrite.New(target, rewrite.Options{Header: header, XForwarded: true}))
	defer rewritten.Close()

	send := func(front, query string) backend.Echo {
		req, err := http.NewRequest(http.MethodGet, front+"/echo/x?"+query, nil)
		require.NoError(t, err)
		req.Host = "shop.example"
		for k, v := range map[string]string{
			"User-Agent":        "test",
			"X-Gateway":         "forged",
			"X-Real-Ip":         "6.6.6.6",
			"True-Client-Ip":    "6.6.6.6",
			"X-Forwarded-Host":  "evil.example",
			"X-Forwarded-Proto": "https",
			"Forwarded":         "for=6.6.6.6",
			"X-Forwarded-Ssl":   "on",
		} {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var e backend.Echo
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
		return e
	}

	want := send(rewritten.URL, "q=1")
	if diff := cmp.Diff(want, send(director.URL, "q=1")); diff != "" {
		t.Errorf("what the backend saw through the Director version (-Rewrite +Director):\n%s", diff)
	}
	// The comparison means something only if the request was rewritten.
	assert.Equal(t, "/base/echo/x", want.Path)
	assert.Equal(t, "k=1&q=1", want.RawQuery)
	assert.Equal(t, back.Listener.Addr().String(), want.Host)
	assert.Equal(t, []string{"shop.example"}, want.Headers["X-Forwarded-Host"])
	assert.Equal(t, []string{"127.0.0.1"}, want.Headers["X-Real-Ip"])
	assert.NotContains(t, want.Headers, "Forwarded")
	assert.NotContains(t, want.Headers, "X-Forwarded-Ssl")

	// One more difference of mechanism, not one of the two flaws: before
	// Rewrite runs, ReverseProxy removes query parameters that do not
	// parse (here the pair with a ';', no longer a separator since Go
	// 1.17); a Director's proxy forwards the query as it came.
	assert.Equal(t, "k=1&q=2", send(rewritten.URL, "q=1;x=2&q=2").RawQuery)
	assert.Equal(t, "k=1&q=1;x=2&q=2", send(director.URL, "q=1;x=2&q=2").RawQuery)
}
