package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A 404 says, in the API server's words, what was not found: no such
// key, no such version, a delete marker (the latest version, or the one
// named), a DELETE of a key deleted already (it said "no such object
// (or it is deleted already)" of both), each naming the key. They were the metadata server's answer
// read through the client, with its status and package prefixes
// ("Not Found: meta: \"k\": has no version 9: no such object"), worded
// differently by each path. A path the API server does not serve keeps
// net/http's own "404 page not found": a client whose metadata URL names
// an API server by mistake tells it from the metadata server's 404s by
// those words (client.ErrNotMetadataServer).
func TestNotFoundSaysWhatIsMissing(t *testing.T) {
	f := newAPI(t)
	for _, step := range []struct{ method, path, body string }{
		{http.MethodPut, "/objects/k", "one"},
		{http.MethodPut, "/objects/gone", "two"},
		{http.MethodDelete, "/objects/gone", ""},
	} {
		resp, body := f.do(t, step.method, step.path, strings.NewReader(step.body))
		require.Less(t, resp.StatusCode, 300, "%s %s: %s", step.method, step.path, body)
	}
	for _, c := range []struct{ method, path, want string }{
		{http.MethodGet, "/objects/nope", `no such object "nope"`},
		{http.MethodGet, "/objects/k?version=9", `no version 9 of "k"`},
		{http.MethodGet, "/objects/nope?version=9", `no version 9 of "nope"`},
		{http.MethodGet, "/objects/gone", `object "gone" is deleted: its latest version is a delete marker; /versions/gone lists the older ones`},
		{http.MethodGet, "/objects/gone?version=2", `version 2 of "gone" is a delete marker`},
		{http.MethodDelete, "/objects/nope", `no such object "nope"`},
		{http.MethodDelete, "/objects/gone", `object "gone" is deleted already: its latest version is a delete marker; /versions/gone lists the older ones`},
		{http.MethodGet, "/versions/nope", `no such object "nope"`},
		{http.MethodGet, "/nope", "404 page not found"},
	} {
		resp, body := f.do(t, c.method, c.path, nil)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "%s %s", c.method, c.path)
		assert.Equal(t, c.want+"\n", body, "%s %s", c.method, c.path)
		assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"), "%s %s", c.method, c.path)
	}
	resp, body := f.do(t, http.MethodGet, "/objects/gone?version=1", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "two", body, "the version before the delete marker")
}
