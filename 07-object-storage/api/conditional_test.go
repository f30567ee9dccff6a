package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// answer is what a test compares of a response: its status and the
// headers that describe the object.
type answer struct {
	Status  int
	Headers map[string]string
	Body    string
}

func (f *fixture) answer(t *testing.T, method, path string, header ...string) answer {
	t.Helper()
	resp, body := f.do(t, method, path, nil, header...)
	a := answer{Status: resp.StatusCode, Headers: map[string]string{}, Body: body}
	for _, k := range []string{"Etag", "Last-Modified", "Content-Type", "Content-Length", "Content-Range", "Accept-Ranges", "X-Version"} {
		if v, ok := resp.Header[k]; ok {
			a.Headers[k] = strings.Join(v, ", ")
		}
	}
	return a
}

// A HEAD is a GET without the body (RFC 9110, section 9.3.2): the same
// status and headers for every precondition, without fetching data.
// Range is the exception: it is defined for GET only (section 14.2).
func TestHeadAnswersPreconditionsAsGet(t *testing.T) {
	f := newAPI(t)
	resp, body := f.do(t, http.MethodPut, "/objects/k", strings.NewReader("0123456789"))
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	etag := resp.Header.Get("ETag")
	modified := f.Clock.Now().UTC()
	lastModified := modified.Format(http.TimeFormat)
	before := modified.Add(-time.Hour).Format(http.TimeFormat)

	for _, tc := range []struct {
		header []string
		status int
	}{
		{nil, http.StatusOK},
		{[]string{"If-None-Match", etag}, http.StatusNotModified},
		{[]string{"If-None-Match", "W/" + etag}, http.StatusNotModified},
		{[]string{"If-None-Match", `"other", ` + etag}, http.StatusNotModified},
		{[]string{"If-None-Match", "*"}, http.StatusNotModified},
		{[]string{"If-None-Match", `"other"`}, http.StatusOK},
		{[]string{"If-Match", `"other"`}, http.StatusPreconditionFailed},
		{[]string{"If-Match", "W/" + etag}, http.StatusPreconditionFailed}, // If-Match compares strongly
		{[]string{"If-Match", etag}, http.StatusOK},
		{[]string{"If-Modified-Since", lastModified}, http.StatusNotModified},
		{[]string{"If-Modified-Since", before}, http.StatusOK},
		{[]string{"If-Unmodified-Since", before}, http.StatusPreconditionFailed},
	} {
		get := f.answer(t, http.MethodGet, "/objects/k", tc.header...)
		assert.Equal(t, tc.status, get.Status, "GET %q", tc.header)
		head := f.answer(t, http.MethodHead, "/objects/k", tc.header...)
		head.Body, get.Body = "", ""
		if get.Status != http.StatusOK {
			// net/http adds "Content-Length: 0" to an empty answer to a
			// GET, not to a HEAD: the server's doing, not the API's.
			delete(get.Headers, "Content-Length")
		}
		if diff := cmp.Diff(get, head); diff != "" {
			t.Errorf("HEAD with %q differs from GET (-GET +HEAD):\n%s", tc.header, diff)
		}
	}

	head := f.answer(t, http.MethodHead, "/objects/k", "Range", "bytes=0-1")
	assert.Equal(t, http.StatusOK, head.Status, "Range on a HEAD is ignored")
	assert.Equal(t, "10", head.Headers["Content-Length"])
}
