package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A version that is a delete marker, or that does not exist, is told
// from the metadata server's one answer: its 404 says which
// (meta.DeleteMarkerHeader). The tool made a second request, for the
// key's versions, to tell them apart.
func TestAMissingVersionTakesOneRequest(t *testing.T) {
	t.Parallel()
	cl := newStore(t)
	ok(t, cl, "one", "put", "k")
	ok(t, cl, "", "rm", "k")
	target, err := url.Parse(cl.MetaURL)
	require.NoError(t, err)
	var (
		mu    sync.Mutex
		paths []string
	)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path)
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"stat", "-version", "2", "k"}, `cli: stat "k": version 2 is a delete marker`},
		{[]string{"get", "-version", "2", "k"}, `cli: get "k": version 2 is a delete marker`},
		{[]string{"get", "-version", "9", "k"}, `cli: get "k": no version 9`},
		{[]string{"stat", "-version", "9", "nope"}, `cli: stat "nope": no version 9`},
	} {
		mu.Lock()
		paths = nil
		mu.Unlock()
		r := cliContext(context.Background(), srv.URL, strings.NewReader(""), tc.args...)
		what := strings.Join(tc.args, " ")
		assert.Equal(t, result{1, "", tc.want + "\n"}, r, what)
		mu.Lock()
		if diff := cmp.Diff([]string{"GET /objects"}, paths); diff != "" {
			t.Errorf("%s: requests to the metadata server (-want +got):\n%s", what, diff)
		}
		mu.Unlock()
	}
}
