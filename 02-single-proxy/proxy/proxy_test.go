package proxy_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
)

// The request's path is joined to the target's base path with exactly one
// slash between them, and the target's query comes before the request's.
func TestPathAndQueryAreJoinedWithTheTargets(t *testing.T) {
	tests := []struct {
		target, request     string // target's path and query; the request's
		wantPath, wantQuery string // what the backend receives
	}{
		{"", "/echo?x=1", "/echo", "x=1"},
		{"/base", "/echo?x=1", "/base/echo", "x=1"},
		{"/base/", "/echo", "/base/echo", ""},
		{"/base", "/", "/base/", ""},
		{"/base?key=k", "/echo?x=1", "/base/echo", "key=k&x=1"},
		{"?key=k", "/echo", "/echo", "key=k"},
		{"?x=target", "/echo?x=client", "/echo", "x=target&x=client"},
	}
	for _, tt := range tests {
		t.Run(tt.target+" + "+tt.request, func(t *testing.T) {
			front, _ := chain(t, http.HandlerFunc(echoAnyPath), tt.target)
			got := echoThrough(t, front, newRequest(t, http.MethodGet, front.URL+tt.request))
			want := [2]string{tt.wantPath, tt.wantQuery}
			if diff := cmp.Diff(want, [2]string{got.Path, got.RawQuery}); diff != "" {
				t.Errorf("path and query at the backend (-want +got):\n%s", diff)
			}
		})
	}
}

// The same through the real demo backend: its /echo reports what it got.
func TestDemoBackendSeesTheJoinedQuery(t *testing.T) {
	front, _ := chain(t, backend.New("A"), "?key=k")
	got := echoThrough(t, front, newRequest(t, http.MethodGet, front.URL+"/echo?x=1"))
	assert.Equal(t, "A", got.Backend)
	assert.Equal(t, "/echo", got.Path)
	assert.Equal(t, "key=k&x=1", got.RawQuery)
}

// The proxy adds X-Forwarded-For with the client's IP address, and nothing
// else of the X-Forwarded family: NewSingleHostReverseProxy uses a Director,
// and only the Rewrite hook's SetXForwarded sets X-Forwarded-Host and
// X-Forwarded-Proto.
func TestProxyAddsXForwardedFor(t *testing.T) {
	front, _ := chain(t, backend.New("A"), "")
	got := echoThrough(t, front, newRequest(t, http.MethodGet, front.URL+"/echo"))

	assert.Equal(t, []string{"127.0.0.1"}, got.Headers["X-Forwarded-For"], "the client's IP, without its port")
	for _, h := range []string{"X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded"} {
		assert.NotContains(t, got.Headers, h)
	}
	// The backend's TCP peer is the proxy, not the client: without the
	// header it could not know who asked.
	assert.True(t, strings.HasPrefix(got.RemoteAddr, "127.0.0.1:"), got.RemoteAddr)
}

// A client that sends its own X-Forwarded-For has it kept, with the real
// address appended: the backend cannot tell a forged first entry from a
// real one. This is the spoofing hole chapter 03 closes.
func TestClientXForwardedForIsKeptAndAppendedTo(t *testing.T) {
	front, _ := chain(t, backend.New("A"), "")
	req := newRequest(t, http.MethodGet, front.URL+"/echo")
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	req.Header.Set("X-Forwarded-Host", "forged.example")
	got := echoThrough(t, front, req)

	assert.Equal(t, []string{"203.0.113.9, 127.0.0.1"}, got.Headers["X-Forwarded-For"])
	assert.Equal(t, []string{"forged.example"}, got.Headers["X-Forwarded-Host"], "passed through untouched")
}

// Hop-by-hop headers describe one connection, so the proxy drops them:
// Go's fixed list of hop-by-hop headers (from RFC 7230 and RFC 2616
// section 13.5.1) and any header the Connection header names.
func TestHopByHopHeadersAreDropped(t *testing.T) {
	front, _ := chain(t, backend.New("A"), "")
	req := newRequest(t, http.MethodGet, front.URL+"/echo")
	req.Header.Set("Connection", "X-Session-Hint")
	req.Header.Set("X-Session-Hint", "for the next hop only")
	req.Header.Set("Keep-Alive", "timeout=5")
	req.Header.Set("Proxy-Authorization", "Basic c2VjcmV0")
	req.Header.Set("X-End-To-End", "kept")
	got := echoThrough(t, front, req)

	for _, h := range []string{"Connection", "X-Session-Hint", "Keep-Alive", "Proxy-Authorization"} {
		assert.NotContains(t, got.Headers, h)
	}
	assert.Equal(t, []string{"kept"}, got.Headers["X-End-To-End"])
}

// When the client sends no Accept-Encoding, the proxy's Transport asks the
// backend for gzip (and would unzip the answer for the client): a header
// the backend sees that nobody typed.
func TestTransportAsksForGzip(t *testing.T) {
	front, _ := chain(t, backend.New("A"), "")
	// Like curl, this client sends no Accept-Encoding (Go's own client
	// would otherwise ask for gzip itself).
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	resp, body := getBody(t, client, front.URL+"/echo")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var got backend.Echo
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	assert.Equal(t, []string{"gzip"}, got.Headers["Accept-Encoding"])
}

// NewSingleHostReverseProxy does not rewrite Host: the backend receives the
// Host the client sent to the proxy, not its own address.
func TestHostHeaderIsPassedThrough(t *testing.T) {
	front, back := chain(t, backend.New("A"), "")
	frontHost := mustParse(t, front.URL).Host
	backHost := mustParse(t, back.URL).Host

	got := echoThrough(t, front, newRequest(t, http.MethodGet, front.URL+"/echo"))
	assert.Equal(t, frontHost, got.Host, "the proxy's address, as the client sent it")
	assert.NotEqual(t, backHost, got.Host)

	req := newRequest(t, http.MethodGet, front.URL+"/echo")
	req.Host = "api.example.com"
	got = echoThrough(t, front, req)
	assert.Equal(t, "api.example.com", got.Host)
}
