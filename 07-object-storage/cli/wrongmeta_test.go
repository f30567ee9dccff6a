package main

import (
	"context"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/07-object-storage/api"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// A -meta that names another server of the store (the gateway, an API
// server, a data server: every one of them prints its URL) says so,
// instead of "no such object" for a 404 that only means the path is not
// that server's.
func TestMetaNamesAnotherServer(t *testing.T) {
	t.Parallel()
	cl := newStore(t)
	ok(t, cl, "content", "put", "k")
	apiSrv := httptest.NewServer(api.New(client.New(client.Options{MetaURL: cl.MetaURL, Log: storetest.Quiet}), 1<<20, storetest.Quiet))
	t.Cleanup(apiSrv.Close)
	auth, err := middleware.NewAuth(middleware.AuthConfig{APIKeys: []middleware.Credential{{ID: "client", Secret: "demo-key"}}})
	require.NoError(t, err)
	gw := httptest.NewServer(auth.Wrap(api.New(client.New(client.Options{MetaURL: cl.MetaURL, Log: storetest.Quiet}), 1<<20, storetest.Quiet)))
	t.Cleanup(gw.Close)

	for _, tc := range []struct {
		name, url string
		args      []string
		answer    string
	}{
		{"API server, ls", apiSrv.URL, []string{"ls"}, `404 Not Found ("404 page not found")`},
		{"API server, put", apiSrv.URL, []string{"put", "k"}, `404 Not Found ("404 page not found")`},
		{"API server, versions", apiSrv.URL, []string{"versions", "k"}, `404 Not Found ("404 page not found")`},
		{"API server, rm", apiSrv.URL, []string{"rm", "k"}, `405 Method Not Allowed ("method not allowed")`},
		{"data server, get", cl.Data[0].URL(), []string{"get", "k"}, `404 Not Found ("404 page not found")`},
		{"gateway, ls", gw.URL, []string{"ls"}, `401 Unauthorized ("unauthorized: `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := cliContext(context.Background(), tc.url, strings.NewReader("content"), tc.args...)
			assert.Equal(t, 1, r.code)
			what := tc.args[0]
			if len(tc.args) > 1 {
				what += ` "k"`
			}
			assert.Regexp(t, "^"+regexp.QuoteMeta("cli: "+what+": "+tc.url+" is not the metadata server: it answered "+tc.answer)+
				`.*; -meta wants the URL printed after "metadata server on"`+"\n$", r.stderr)
		})
	}
	// The metadata server's own 404 is still "no such object".
	r := cli(cl, nil, "get", "nope")
	assert.Equal(t, result{1, "", "cli: get \"nope\": no such object\n"}, r)
}
