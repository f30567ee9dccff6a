package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A query the server cannot read is a 400. url.Values drops a pair it
// cannot decode (a bad %-escape, a ';'), so "?version=1;" would read as
// no version at all: a DELETE would hide the latest version, and a GET
// would send it, instead of refusing.
func TestUnreadableQueryIs400(t *testing.T) {
	f := newAPI(t)
	resp, body := f.do(t, http.MethodPut, "/objects/k", strings.NewReader("first"))
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	for _, tc := range []struct{ method, path string }{
		{http.MethodDelete, "/objects/k?version=1;"},
		{http.MethodPut, "/objects/k?version=%zz"},
		{http.MethodGet, "/objects/k?version=1;x"},
		{http.MethodHead, "/objects/k?version=%"},
		{http.MethodGet, "/objects/?prefix=%zz"},
		{http.MethodGet, "/versions/k?after=1;"},
	} {
		resp, body := f.do(t, tc.method, tc.path, strings.NewReader("second"))
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s %s: %s", tc.method, tc.path, body)
	}
	resp, body = f.do(t, http.MethodGet, "/objects/k", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "a refused request changed the object")
	assert.Equal(t, "first", body, "a refused request changed the object")
}

// A query parameter a method does not take is a 400, not ignored: the
// store has no ?versionId= (S3's name for ?version=), and a DELETE that
// ignored it would hide the latest version instead of removing the one
// named; a version named twice is no one version.
func TestUnknownOrRepeatedParametersAre400(t *testing.T) {
	f := newAPI(t)
	resp, body := f.do(t, http.MethodPut, "/objects/k", strings.NewReader("first"))
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	resp, body = f.do(t, http.MethodPut, "/objects/k", strings.NewReader("second"))
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	for _, tc := range []struct{ method, path string }{
		{http.MethodDelete, "/objects/k?versionId=1"},
		{http.MethodPut, "/objects/k?versionId=1"},
		{http.MethodPut, "/objects/k?x"},
		{http.MethodGet, "/objects/k?version=1&version=2"},
		{http.MethodHead, "/objects/k?version=1&version=2"},
	} {
		resp, body := f.do(t, tc.method, tc.path, strings.NewReader("third"))
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s %s: %s", tc.method, tc.path, body)
	}
	resp, body = f.do(t, http.MethodGet, "/objects/k", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "second", body, "a refused request changed the object")
	assert.Equal(t, "2", resp.Header.Get("X-Version"))
}
