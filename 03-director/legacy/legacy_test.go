package legacy

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/03-director/proxytest"
	"github.com/gocourse/gateway/03-director/rewrite"
)

// TestDirectorHasBothFlaws runs proxytest's attacks on the Director
// version: it forwards fine, and fails exactly the two checks the Go
// documentation warns about.
func TestDirectorHasBothFlaws(t *testing.T) {
	got := proxytest.Failures(func(target *url.URL, header http.Header) http.Handler {
		return New(target, header)
	})
	want := []string{
		"keeps the added header when the client lists it in Connection",
		"drops the X-Forwarded-For a client sent",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("checks the Director version fails (-want +got):\n%s", diff)
	}
}

// TestRewriteHasNeither runs the same attacks on the same proxy written
// with Rewrite.
func TestRewriteHasNeither(t *testing.T) {
	got := proxytest.Failures(func(target *url.URL, header http.Header) http.Handler {
		return rewrite.New(target, rewrite.Options{Header: header, XForwarded: true})
	})
	assert.Empty(t, got, "checks the Rewrite version fails")
}

// TestSingleHostProxyKeepsClientForwardedFor shows that
// httputil.NewSingleHostReverseProxy (stage 02's proxy.New) is a Director
// proxy too: a client's X-Forwarded-For reaches the backend.
func TestSingleHostProxyKeepsClientForwardedFor(t *testing.T) {
	b := httptest.NewServer(backend.New("A"))
	defer b.Close()
	target, err := url.Parse(b.URL)
	require.NoError(t, err)
	p := httptest.NewServer(proxy.New(target, nil))
	defer p.Close()

	req, err := http.NewRequest(http.MethodGet, p.URL+"/echo", nil)
	require.NoError(t, err)
	req.Header.Set("X-Forwarded-For", "6.6.6.6")
	resp, err := p.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var e backend.Echo
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
	assert.Equal(t, []string{"6.6.6.6, 127.0.0.1"}, e.Headers["X-Forwarded-For"])
}
