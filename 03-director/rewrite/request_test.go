package rewrite

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/03-director/proxytest"
)

func TestHostIsTheTargetsByDefault(t *testing.T) {
	target := startBackend(t, nil)
	p := startProxy(t, New(target, Options{}))
	e := echo(t, p+"/echo", nil, "shop.example")
	assert.Equal(t, target.Host, e.Host, "the backend should see the target's host")
}

func TestPreserveHostPassesTheClientsHost(t *testing.T) {
	target := startBackend(t, nil)
	p := startProxy(t, New(target, Options{PreserveHost: true}))
	e := echo(t, p+"/echo", nil, "shop.example")
	assert.Equal(t, "shop.example", e.Host, "the backend should see the Host the client sent")
}

func TestStripPrefix(t *testing.T) {
	for _, tc := range []struct{ prefix, path, want string }{
		{"/api", "/api/users", "/users"},
		{"/api/", "/api/users", "/users"},
		{"/api", "/api", "/"},
		{"/api", "/api/", "/"},
		{"/api", "/apiary", "/apiary"}, // not at a segment boundary
		{"/api", "/other/api", "/other/api"},
		{"/api", "", ""},
	} {
		assert.Equal(t, tc.want, stripPrefix(tc.path, tc.prefix), "stripPrefix(%q, %q)", tc.path, tc.prefix)
	}
}

func TestURLIsStrippedJoinedAndMerged(t *testing.T) {
	b := startBackend(t, http.StripPrefix("/base", backend.New("A")))
	target := mustParse(t, b.String()+"/base?key=k1")
	p := startProxy(t, New(target, Options{StripPrefix: "/api"}))

	e := echo(t, p+"/api/echo?q=1&q=2", nil, "")
	got := struct{ Path, RawQuery string }{e.Path, e.RawQuery}
	// The backend saw /echo because http.StripPrefix removed /base: the
	// proxy sent /base/echo.
	want := struct{ Path, RawQuery string }{"/echo", "key=k1&q=1&q=2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("what the backend saw (-want +got):\n%s", diff)
	}
}

// TestAQueryThatDoesNotParseLosesPairs pins a pitfall the chapter
// teaches: httputil.ReverseProxy sends a query that url.ParseQuery cannot
// read re-encoded, without the pairs it cannot read (a ';', a bad
// %-escape) and in its own order. This proxy passes that on; chapter 06's
// gateway refuses such a query with a 400 instead.
func TestAQueryThatDoesNotParseLosesPairs(t *testing.T) {
	p := startProxy(t, New(startBackend(t, nil), Options{}))
	for sent, got := range map[string]string{
		"z=1&a=2":             "z=1&a=2", // parses: sent as it came
		"version=1;":          "",
		"a=1;b=2&c=3":         "c=3",
		"z=1&c=%zz&a=2":       "a=2&z=1",
		"version=1&version=2": "version=1&version=2",
	} {
		assert.Equal(t, got, echo(t, p+"/echo?"+sent, nil, "").RawQuery, "sent %q", sent)
	}
}

// TestStripPrefixKeepsEscapes: a path with an escaped slash (a%2Fb, one
// segment) reaches the backend stripped and still escaped. Stripping the
// decoded path (/a/b) alone would leave the escaped form (RawPath) no
// longer matching it, and the backend would be sent /a/b: two segments.
func TestStripPrefixKeepsEscapes(t *testing.T) {
	b := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.RequestURI))
	}))
	p := startProxy(t, New(mustParse(t, b.String()+"/base"), Options{StripPrefix: "/api"}))

	for path, want := range map[string]string{
		"/api/a%2Fb":       "/base/a%2Fb",
		"/api/files/x%2Fy": "/base/files/x%2Fy",
		"/api/plain":       "/base/plain",
		// An escape inside the prefix itself (%61 is "a") must not cost
		// the escapes after it: the prefix is stripped from the decoded
		// path, and the rest keeps the client's escapes.
		"/%61pi/a%2Fb": "/base/a%2Fb",
		"/%61pi":       "/base/",
		// The decoded prefix ends at an escaped slash: stripped as routed
		// (the gateway's routes match the decoded path), later escapes kept.
		"/api%2Fx/a%2Fb": "/base/x/a%2Fb",
	} {
		resp, body := get(t, p+path, nil, "")
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		assert.Equal(t, want, body, "the request line the backend got for %s", path)
	}
}

// TestXForwarded calls the proxy directly with a request from a made-up
// client, to check each header against what the proxy saw.
func TestXForwarded(t *testing.T) {
	target := startBackend(t, nil)
	spoofed := http.Header{
		"Forwarded":          {"for=6.6.6.6"},
		"X-Forwarded-For":    {"6.6.6.6"},
		"X-Forwarded-Host":   {"evil.example"},
		"X-Forwarded-Proto":  {"gopher"},
		"X-Forwarded-Port":   {"1"},
		"X-Forwarded-Prefix": {"/admin"},
		"X-Real-Ip":          {"6.6.6.6"},
		"True-Client-Ip":     {"6.6.6.6"},
		// Not dropped by ReverseProxy itself: Rack and Rails read the
		// first as "the client used https".
		"X-Forwarded-Ssl":    {"on"},
		"X-Forwarded-Scheme": {"https"},
		"X-Forwarded-Server": {"evil.example"},
		"X_forwarded_ssl":    {"on"}, // the same to a CGI-style server
		// Read as the client's address by common backend code (Rails,
		// Node's request-ip), some before X-Forwarded-For.
		"Client-Ip":           {"6.6.6.6"},
		"X-Client-Ip":         {"6.6.6.6"},
		"X-Cluster-Client-Ip": {"6.6.6.6"},
		"Cf-Connecting-Ip":    {"6.6.6.6"},
		"Fastly-Client-Ip":    {"6.6.6.6"},
		"X-Forwarded":         {"for=6.6.6.6"},
		"Forwarded-For":       {"6.6.6.6"},
		"X_client_ip":         {"6.6.6.6"},
	}
	send := func(opts Options) map[string][]string {
		req := httptest.NewRequest(http.MethodGet, "https://shop.example/echo", nil)
		req.RemoteAddr = "203.0.113.7:5555"
		req.TLS = &tls.ConnectionState{}
		for k, v := range spoofed {
			req.Header[k] = v
		}
		rec := httptest.NewRecorder()
		New(target, opts).ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var e backend.Echo
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e))
		got := map[string][]string{}
		for k := range spoofed {
			if v, ok := e.Headers[k]; ok {
				got[k] = v
			}
		}
		return got
	}

	t.Run("on: set from what the proxy saw", func(t *testing.T) {
		want := map[string][]string{
			"X-Forwarded-For":   {"203.0.113.7"},
			"X-Forwarded-Host":  {"shop.example"},
			"X-Forwarded-Proto": {"https"},
			"X-Real-Ip":         {"203.0.113.7"},
		}
		if diff := cmp.Diff(want, send(Options{XForwarded: true})); diff != "" {
			t.Errorf("forwarding headers the backend got (-want +got):\n%s", diff)
		}
	})
	t.Run("off: none, not even the client's", func(t *testing.T) {
		if diff := cmp.Diff(map[string][]string{}, send(Options{})); diff != "" {
			t.Errorf("forwarding headers the backend got (-want +got):\n%s", diff)
		}
	})
}

func TestSpoofable(t *testing.T) {
	for name, want := range map[string]bool{
		"Forwarded":          true,
		"X-Forwarded-For":    true,
		"X-Forwarded-Ssl":    true,
		"x-forwarded-scheme": true,
		"X_Forwarded_Ssl":    true,
		"X-Real-Ip":          true,
		"x-real-ip":          true,
		"True-Client-Ip":     true,
		"Client-Ip":          true,
		"x-client-ip":        true,
		"X_Client_Ip":        true,
		"Cf-Connecting-Ip":   true,
		"X-Forwarded":        true,
		"Forwarded-For":      true,
		"X-Forwardedness":    false,
		"X-Gateway":          false,
		"Accept":             false,
	} {
		assert.Equal(t, want, Spoofable(name), "Spoofable(%q)", name)
	}
}

func TestGatewayHeaderIsAddedAndCannotBeForged(t *testing.T) {
	target := startBackend(t, nil)
	p := startProxy(t, New(target, Options{Header: http.Header{"X-Gateway": {"03-director"}}}))
	e := echo(t, p+"/echo", http.Header{"X-Gateway": {"forged"}}, "")
	assert.Equal(t, []string{"03-director"}, e.Headers["X-Gateway"])

	// A key not in canonical form replaces the client's header too.
	p = startProxy(t, New(target, Options{Header: http.Header{"x-gateway": {"03-director"}}}))
	e = echo(t, p+"/echo", http.Header{"X-Gateway": {"forged"}}, "")
	assert.Equal(t, []string{"03-director"}, e.Headers["X-Gateway"], "Header with the key x-gateway")

	p = startProxy(t, New(target, Options{}))
	e = echo(t, p+"/echo", nil, "")
	assert.NotContains(t, e.Headers, "X-Gateway", "with no Header option, nothing is added")
}

// TestHardened runs the attacks of proxytest: the Rewrite proxy resists
// both (the Director version in package legacy does not).
func TestHardened(t *testing.T) {
	proxytest.Run(t, func(target *url.URL, header http.Header) http.Handler {
		return New(target, Options{Header: header, XForwarded: true})
	})
}
