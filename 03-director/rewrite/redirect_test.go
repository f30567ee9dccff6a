package rewrite

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRelocate covers which Locations relocate rewrites and how: those
// that point at the backend itself, and nothing else.
func TestRelocate(t *testing.T) {
	backend := &url.URL{Scheme: "http", Host: "10.0.0.7:9001", Path: "/base/users"}
	for _, c := range []struct {
		name, location, base, prefix, want string
	}{
		{"the backend's own URL", "http://10.0.0.7:9001/login", "", "", "/login"},
		{"query and fragment kept", "http://10.0.0.7:9001/login?next=%2Fa&x#top", "", "", "/login?next=%2Fa&x#top"},
		{"escapes kept", "http://10.0.0.7:9001/a%2Fb/c%20d", "", "", "/a%2Fb/c%20d"},
		{"the stripped prefix comes back", "http://10.0.0.7:9001/login", "", "/api", "/api/login"},
		{"a prefix written with its slash", "http://10.0.0.7:9001/login", "", "/api/", "/api/login"},
		{"the site's root", "http://10.0.0.7:9001", "", "", "/"},
		{"the route's root", "http://10.0.0.7:9001/", "", "/api", "/api/"},
		{"the target's path gives way", "http://10.0.0.7:9001/base/login", "/base", "/api", "/api/login"},
		{"the target's path, with its slash", "http://10.0.0.7:9001/base/login", "/base/", "", "/login"},
		{"scheme and host in any case", "HTTP://10.0.0.7:9001/login", "", "", "/login"},
		{"another host", "http://example.com/login", "", "/api", "http://example.com/login"},
		{"another port", "http://10.0.0.7:9002/login", "", "", "http://10.0.0.7:9002/login"},
		{"another scheme", "https://10.0.0.7:9001/login", "", "", "https://10.0.0.7:9001/login"},
		{"outside the target's path", "http://10.0.0.7:9001/other", "/base", "/api", "http://10.0.0.7:9001/other"},
		{"a longer name than the target's path", "http://10.0.0.7:9001/baseline", "/base", "", "http://10.0.0.7:9001/baseline"},
		{"no host: the backend may mean the whole site", "/login", "", "/api", "/login"},
		{"a path that would read as a host", "http://10.0.0.7:9001//evil.example/", "", "", "http://10.0.0.7:9001//evil.example/"},
		{"user information", "http://u@10.0.0.7:9001/login", "", "", "http://u@10.0.0.7:9001/login"},
		{"not a URL", "http://10.0.0.7:9001/%zz", "", "", "http://10.0.0.7:9001/%zz"},
		{"an empty fragment kept: the client's own is not carried over", "http://10.0.0.7:9001/x#", "", "", "/x#"},
		{"a fragment kept as sent", "http://10.0.0.7:9001/x#a#b%zz", "", "", "/x#a#b%zz"},
		{"no scheme, the backend's host", "//10.0.0.7:9001/login?a=1", "", "/api", "/api/login?a=1"},
		{"no scheme, another host", "//example.com/login", "", "/api", "//example.com/login"},
		{"a prefix escaped on its way in", "http://10.0.0.7:9001/login", "", "/a?b 50%", "/a%3Fb%2050%25/login"},
		{"a dot segment, which the client would resolve out of the prefix", "http://10.0.0.7:9001/base/../other", "/base", "/api", "http://10.0.0.7:9001/base/../other"},
		{"an escaped dot segment", "http://10.0.0.7:9001/%2e%2E/x", "", "/api", "http://10.0.0.7:9001/%2e%2E/x"},
		{"a dot segment with a parameter, which the proxy refuses", "http://10.0.0.7:9001/a/..;x/b", "", "/api", "http://10.0.0.7:9001/a/..;x/b"},
		{"a backslash escaped: a browser reads /\\ as //", "http://10.0.0.7:9001/\\evil.example/", "", "", "/%5Cevil.example/"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{"Location": {c.location}}
			relocate(h, backend, c.base, c.prefix)
			assert.Equal(t, []string{c.want}, h["Location"])
		})
	}
}

// TestRelocateRefresh: the URL of a Refresh header is rewritten as a
// Location is, however the header spells it, and the rest of it kept.
func TestRelocateRefresh(t *testing.T) {
	backend := &url.URL{Scheme: "http", Host: "10.0.0.7:9001"}
	for refresh, want := range map[string]string{
		"5; url=http://10.0.0.7:9001/login":          "5; url=/api/login",
		"0;URL='http://10.0.0.7:9001/x?a=1'":         "0;URL='/api/x?a=1'",
		`0; url="http://10.0.0.7:9001/x" `:           `0; url="/api/x" `,
		"3, http://10.0.0.7:9001/x":                  "3, /api/x",
		"5; url = http://10.0.0.7:9001/x  ":          "5; url = /api/x  ",
		"5; url=http://example.com/":                 "5; url=http://example.com/",
		"5; url=/login":                              "5; url=/login",
		"5":                                          "5",
		"5;":                                         "5;",
		"5; urlhttp://10.0.0.7:9001/x":               "5; urlhttp://10.0.0.7:9001/x",
		"5; url=http://10.0.0.7:9001//evil.example/": "5; url=/api//evil.example/", // under the prefix: a path
		"5 http://10.0.0.7:9001/x":                   "5 /api/x",
		" 1.5 , url=http://10.0.0.7:9001/x":          " 1.5 , url=/api/x",
		"5x; url=http://10.0.0.7:9001/x":             "5x; url=http://10.0.0.7:9001/x", // no refresh a browser follows
	} {
		h := http.Header{"Refresh": {refresh}}
		relocate(h, backend, "", "/api")
		assert.Equal(t, want, h.Get("Refresh"), "Refresh: %s", refresh)
	}
}

// TestRelocateTakesTheSchemesDefaultPort: "http://h" and "http://h:80"
// are one origin, both ways.
func TestRelocateTakesTheSchemesDefaultPort(t *testing.T) {
	for _, c := range []struct{ backend, location string }{
		{"http://backend", "http://backend:80/x"},
		{"http://backend:80", "http://backend/x"},
		{"https://backend:443", "https://backend/x"},
		{"http://[::1]", "http://[::1]:80/x"},
	} {
		h := http.Header{"Location": {c.location}}
		relocate(h, &url.URL{Scheme: "http", Host: "x"}, "", "") // another origin: untouched
		require.Equal(t, c.location, h.Get("Location"))
		b, err := url.Parse(c.backend)
		require.NoError(t, err)
		relocate(h, b, "", "")
		assert.Equal(t, "/x", h.Get("Location"), "backend %s", c.backend)
	}
}

// TestRelocateEveryValue: a response with two Location (or Refresh)
// fields, malformed as it is, tells neither the backend's address: a
// client may read either.
func TestRelocateEveryValue(t *testing.T) {
	h := http.Header{
		"Location": {"http://10.0.0.7:9001/a", "http://example.com/b", "http://10.0.0.7:9001/c"},
		"Refresh":  {"0; url=http://10.0.0.7:9001/d", "0; url=http://10.0.0.7:9001/e"},
	}
	relocate(h, &url.URL{Scheme: "http", Host: "10.0.0.7:9001"}, "", "/api")
	assert.Equal(t, http.Header{
		"Location": {"/api/a", "http://example.com/b", "/api/c"},
		"Refresh":  {"0; url=/api/d", "0; url=/api/e"},
	}, h)
}

// TestRedirectsComeBackThroughTheProxy sends, through a proxy that strips
// /api, a request whose backend redirects to its own address (Location,
// and Refresh): the client is sent to /api/login on the proxy, and with
// RewriteRedirects off, to the backend.
func TestRedirectsComeBackThroughTheProxy(t *testing.T) {
	var self string
	target := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Refresh", "0; url="+self+"/later")
		http.Redirect(w, r, self+"/login?from="+url.QueryEscape(r.URL.Path), http.StatusFound)
	}))
	self = target.String()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range []struct {
		rewrite       bool
		want, refresh string
	}{
		{true, "/api/login?from=%2Fprofile", "0; url=/api/later"},
		{false, self + "/login?from=%2Fprofile", "0; url=" + self + "/later"},
	} {
		front := startProxy(t, New(target, Options{StripPrefix: "/api", RewriteRedirects: c.rewrite}))
		resp, err := noFollow.Get(front + "/api/profile")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusFound, resp.StatusCode)
		assert.Equal(t, c.want, resp.Header.Get("Location"), "RewriteRedirects: %v", c.rewrite)
		assert.Equal(t, c.refresh, resp.Header.Get("Refresh"), "RewriteRedirects: %v", c.rewrite)
	}
}

// TestARedirectOfAPickedTargetComesBack: NewPicking's proxies, whose
// target travels with the request, rewrite too, the picked target's path
// giving way to the prefix.
func TestARedirectOfAPickedTargetComesBack(t *testing.T) {
	var self string
	target := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, self+"/base/next", http.StatusSeeOther)
	}))
	self = target.String()
	picked := mustParse(t, self+"/base")
	p := NewPicking(func(*http.Request) (*url.URL, error) { return picked, nil }, Options{StripPrefix: "/app", RewriteRedirects: true})
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(startProxy(t, p) + "/app/form")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/app/next", resp.Header.Get("Location"))
}
