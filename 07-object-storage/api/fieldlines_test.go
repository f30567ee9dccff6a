package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// doLines is fixture.do with header fields that may come in several
// field lines, as a client or a proxy may send a list (RFC 9110, section
// 5.3): {"If-Match": {"", `"a"`}} is two lines, the first one empty.
func (f *fixture) doLines(t *testing.T, method, path, body string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.url+path, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// A precondition is a list that may come in several field lines, and
// means what their values joined with commas mean (RFC 9110, section
// 5.3). A PUT or a DELETE refuses it (501) whichever line holds it: one
// that looked at the first line only would take an empty first line for
// no precondition, and overwrite or hide the object the client meant to
// protect.
func TestUnsafeMethodsRefusePreconditionsOnAnyLine(t *testing.T) {
	f := newAPI(t)
	resp, body := f.do(t, http.MethodPut, "/objects/k", strings.NewReader("first"))
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	for _, tc := range []struct {
		method string
		header http.Header
	}{
		{http.MethodPut, http.Header{"If-Match": {"", `"other"`}}},
		{http.MethodPut, http.Header{"If-None-Match": {"", "*"}}},
		{http.MethodDelete, http.Header{"If-Match": {"", `"other"`}}},
		{http.MethodDelete, http.Header{"If-Unmodified-Since": {"", "Thu, 01 Jan 1970 00:00:00 GMT"}}},
	} {
		resp, body := f.doLines(t, tc.method, "/objects/k", "second", tc.header)
		assert.Equal(t, http.StatusNotImplemented, resp.StatusCode, "%s %q: %s", tc.method, tc.header, body)
	}
	resp, body = f.do(t, http.MethodGet, "/objects/k", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "first", body, "a refused request changed the object")
	assert.Equal(t, "1", resp.Header.Get("X-Version"))
}

// A GET or a HEAD reads If-Match and If-None-Match from all their field
// lines, as one list: an ETag on the second line matches as it would
// after a comma.
func TestPreconditionListsSpanFieldLines(t *testing.T) {
	f := newAPI(t)
	resp, body := f.do(t, http.MethodPut, "/objects/k", strings.NewReader("0123456789"))
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	etag := resp.Header.Get("ETag")
	for _, tc := range []struct {
		header http.Header
		status int
	}{
		{http.Header{"If-None-Match": {`"other"`, etag}}, http.StatusNotModified},
		{http.Header{"If-None-Match": {"", etag}}, http.StatusNotModified},
		{http.Header{"If-Match": {`"other"`, etag}}, http.StatusOK},
		{http.Header{"If-Match": {`"other"`, `"else"`}}, http.StatusPreconditionFailed},
		{http.Header{"If-Match": {"", ""}}, http.StatusOK}, // blank lines: no list
	} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			resp, _ := f.doLines(t, method, "/objects/k", "", tc.header)
			assert.Equal(t, tc.status, resp.StatusCode, "%s %q", method, tc.header)
		}
	}
}
