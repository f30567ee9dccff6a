package api_test

import (
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/client"
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
		// A list is read up to its first element that is not an
		// entity-tag (RFC 9110, section 8.8.3), as http.ServeContent
		// reads it for HEAD: what follows does not count.
		{[]string{"If-None-Match", `foo, ` + etag}, http.StatusOK},
		{[]string{"If-None-Match", `"bad tag", ` + etag}, http.StatusOK},
		{[]string{"If-None-Match", `"other" ` + etag}, http.StatusNotModified}, // no comma: still two tags
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

// Range requests as RFC 9110 (section 14) has them, including where
// http.ServeContent alone would answer otherwise (see byteRanges), and
// a 416 in the API's words (see rangeRefusal).
func TestRangeRequests(t *testing.T) {
	f := newAPI(t)
	resp, body := f.do(t, http.MethodPut, "/objects/k", strings.NewReader("0123456789"))
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	etag := resp.Header.Get("ETag")
	resp, body = f.do(t, http.MethodPut, "/objects/empty", strings.NewReader(""))
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	lastModified := f.Clock.Now().UTC().Format(http.TimeFormat)

	type want struct {
		Status       int
		Body         string
		ContentRange string
	}
	for _, tc := range []struct {
		path   string
		header []string
		want   want
	}{
		{"/objects/k", []string{"Range", "bytes=3-5"}, want{206, "345", "bytes 3-5/10"}},
		{"/objects/k", []string{"Range", "bytes=7-"}, want{206, "789", "bytes 7-9/10"}},
		{"/objects/k", []string{"Range", "bytes=-3"}, want{206, "789", "bytes 7-9/10"}},
		{"/objects/k", []string{"Range", "bytes=-30"}, want{206, "0123456789", "bytes 0-9/10"}},
		{"/objects/k", []string{"Range", "bytes=8-30"}, want{206, "89", "bytes 8-9/10"}},
		{"/objects/k", []string{"Range", "bytes=10-"}, want{416, "range not satisfiable: \"bytes=10-\" selects none of the object's 10 bytes\n", "bytes */10"}},
		// A unit the server does not know is ignored (RFC 9110, section
		// 14.2: MUST); unit names are case-insensitive (section 14.1).
		{"/objects/k", []string{"Range", "items=0-1"}, want{200, "0123456789", ""}},
		{"/objects/k", []string{"Range", "Bytes=0-1"}, want{206, "01", "bytes 0-1/10"}},
		// A suffix of no bytes selects nothing (section 14.1.2).
		{"/objects/k", []string{"Range", "bytes=-0"}, want{416, "range not satisfiable: \"bytes=-0\" selects none of the object's 10 bytes\n", "bytes */10"}},
		{"/objects/k", []string{"Range", "bytes=-0, 2-3"}, want{206, "23", "bytes 2-3/10"}},
		// Ranges that overlap or go back are ignored (section 14.2): each
		// would make a streamed object fetch a chunk again.
		{"/objects/k", []string{"Range", "bytes=5-6,0-1"}, want{200, "0123456789", ""}},
		{"/objects/k", []string{"Range", "bytes=0-3,2-5"}, want{200, "0123456789", ""}},
		{"/objects/k", []string{"Range", "bytes=0-1,1-2"}, want{200, "0123456789", ""}},
		{"/objects/k", []string{"Range", "bytes=-2,0-1"}, want{200, "0123456789", ""}},
		{"/objects/k", []string{"Range", "bytes=5-5,-6"}, want{200, "0123456789", ""}},
		// One past the end is skipped, not taken for going back.
		{"/objects/k", []string{"Range", "bytes=20-,3-4"}, want{206, "34", "bytes 3-4/10"}},
		// An empty object is sent whole: no Content-Range names no bytes.
		{"/objects/empty", []string{"Range", "bytes=-5"}, want{200, "", ""}},
		{"/objects/empty", []string{"Range", "bytes=0-"}, want{200, "", ""}},
		// An invalid range may be ignored or rejected (section 14.2);
		// ServeContent rejects, and the answer says what is wrong: a range
		// that ends before it starts (section 14.1.1), or one that does
		// not parse. One past the end, backwards or not, is skipped.
		{"/objects/k", []string{"Range", "bytes=5-2"}, want{416, "bad Range: \"bytes=5-2\": 5-2 ends before it starts\n", ""}},
		{"/objects/k", []string{"Range", "bytes=0-1, 5-2"}, want{416, "bad Range: \"bytes=0-1, 5-2\": 5-2 ends before it starts\n", ""}},
		{"/objects/k", []string{"Range", "bytes=20-1,5-2"}, want{416, "bad Range: \"bytes=20-1,5-2\": 5-2 ends before it starts\n", ""}},
		{"/objects/k", []string{"Range", "bytes=5-x"}, want{416, "bad Range: \"bytes=5-x\" is not a list of byte ranges\n", ""}},
		// If-Range: the range if the validator matches, else the whole.
		{"/objects/k", []string{"Range", "bytes=0-1", "If-Range", etag}, want{206, "01", "bytes 0-1/10"}},
		{"/objects/k", []string{"Range", "bytes=0-1", "If-Range", `"other"`}, want{200, "0123456789", ""}},
		{"/objects/k", []string{"Range", "bytes=0-1", "If-Range", "W/" + etag}, want{200, "0123456789", ""}},
		{"/objects/k", []string{"Range", "bytes=0-1", "If-Range", lastModified}, want{206, "01", "bytes 0-1/10"}},
	} {
		resp, body := f.do(t, http.MethodGet, tc.path, nil, tc.header...)
		got := want{resp.StatusCode, body, resp.Header.Get("Content-Range")}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s with %q (-want +got):\n%s", tc.path, tc.header, diff)
		}
	}

	// Several ranges: one multipart/byteranges answer (RFC 9110, section
	// 14.6), each part with its own Content-Range.
	resp, body = f.do(t, http.MethodGet, "/objects/k", nil, "Range", "bytes=0-1,8-9")
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
	mediaType, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	require.NoError(t, err)
	assert.Equal(t, "multipart/byteranges", mediaType)
	var parts []want
	mr := multipart.NewReader(strings.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		b, err := io.ReadAll(p)
		require.NoError(t, err)
		parts = append(parts, want{Body: string(b), ContentRange: p.Header.Get("Content-Range")})
	}
	if diff := cmp.Diff([]want{{0, "01", "bytes 0-1/10"}, {0, "89", "bytes 8-9/10"}}, parts); diff != "" {
		t.Errorf("the parts of bytes=0-1,8-9 (-want +got):\n%s", diff)
	}
}

// A PUT or a DELETE that asks for what the store cannot do is refused,
// and changes nothing: a version (400), or a precondition the store
// cannot check and write in one step (501).
func TestUnsafeMethodsRefuseWhatTheyCannotDo(t *testing.T) {
	f := newAPI(t)
	resp, body := f.do(t, http.MethodPut, "/objects/k", strings.NewReader("first"))
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	etag := resp.Header.Get("ETag")
	for _, tc := range []struct {
		method, path string
		header       []string
		status       int
		says         string
	}{
		{http.MethodDelete, "/objects/k?version=1", nil, http.StatusBadRequest, "takes no version"},
		{http.MethodPut, "/objects/k?version=1", nil, http.StatusBadRequest, "takes no version"},
		{http.MethodPut, "/objects/k", []string{"If-None-Match", "*"}, http.StatusNotImplemented, "If-None-Match on a PUT is not supported"},
		{http.MethodPut, "/objects/k", []string{"If-Match", etag}, http.StatusNotImplemented, "If-Match on a PUT is not supported"},
		{http.MethodPut, "/objects/k", []string{"If-Unmodified-Since", f.Clock.Now().UTC().Format(http.TimeFormat)}, http.StatusNotImplemented, "If-Unmodified-Since"},
		{http.MethodDelete, "/objects/k", []string{"If-Match", etag}, http.StatusNotImplemented, "If-Match on a DELETE is not supported"},
	} {
		resp, body := f.do(t, tc.method, tc.path, strings.NewReader("second"), tc.header...)
		assert.Equal(t, tc.status, resp.StatusCode, "%s %s %q: %s", tc.method, tc.path, tc.header, body)
		assert.Contains(t, body, tc.says, "%s %s %q", tc.method, tc.path, tc.header)
	}
	resp, body = f.do(t, http.MethodGet, "/objects/k", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "first", body, "a refused request changed the object")
	assert.Equal(t, "1", resp.Header.Get("X-Version"))
}

// The latest version of a key is served with Cache-Control: no-cache, a
// 304 too (RFC 9110, section 15.4.5): a cache may keep it but must
// revalidate, instead of reusing it for a time of its own choosing
// (heuristic freshness, RFC 9111, section 4.2.2) after a PUT replaced it.
// A version named by number never changes and says nothing. That is
// every answer when the metadata it was made from is not fresh for a
// second more, as here, where the client has no metadata cache
// (TestSharedCachesMayKeepAnAnswerWhileItsMetadataIsFresh has the rest).
func TestLatestVersionIsRevalidated(t *testing.T) {
	f := newAPIWithClient(t, 1024, client.Options{MetaCacheEntries: -1})
	resp, body := f.do(t, http.MethodPut, "/objects/k", strings.NewReader("0123456789"))
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	etag := resp.Header.Get("ETag")
	lastModified := f.Clock.Now().UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		method, path string
		header       []string
		status       int
		cache        string
	}{
		{http.MethodGet, "/objects/k", nil, http.StatusOK, "no-cache"},
		{http.MethodHead, "/objects/k", nil, http.StatusOK, "no-cache"},
		{http.MethodGet, "/objects/k", []string{"Range", "bytes=0-1"}, http.StatusPartialContent, "no-cache"},
		{http.MethodGet, "/objects/k", []string{"If-None-Match", etag}, http.StatusNotModified, "no-cache"},
		{http.MethodGet, "/objects/k", []string{"If-Modified-Since", lastModified}, http.StatusNotModified, "no-cache"},
		{http.MethodHead, "/objects/k", []string{"If-None-Match", etag}, http.StatusNotModified, "no-cache"},
		{http.MethodGet, "/objects/k?version=1", nil, http.StatusOK, ""},
		{http.MethodGet, "/objects/k?version=1", []string{"If-None-Match", etag}, http.StatusNotModified, ""},
	} {
		resp, _ := f.do(t, tc.method, tc.path, nil, tc.header...)
		assert.Equal(t, tc.status, resp.StatusCode, "%s %s %q", tc.method, tc.path, tc.header)
		assert.Equal(t, tc.cache, resp.Header.Get("Cache-Control"), "%s %s %q", tc.method, tc.path, tc.header)
	}
}

// If-Range with a date gets the range only if the date is a strong
// validator (RFC 9110, section 13.1.5), which a Last-Modified is when the
// server knows the content did not change twice in that second (section
// 8.8.2.2). A version named by number never changes. The latest does,
// with every PUT: two versions put in the same second have the same
// Last-Modified, and a range of the second one sent to a client that
// holds the first would be spliced onto it. So a date names the latest
// version only when no earlier one was made in its second; otherwise the
// answer is the whole object.
func TestIfRangeDateIsStrongOnly(t *testing.T) {
	f := newAPI(t)
	status := http.StatusCreated // the first PUT creates k, the next ones replace it
	put := func(content string) {
		t.Helper()
		resp, body := f.do(t, http.MethodPut, "/objects/k", strings.NewReader(content))
		require.Equal(t, status, resp.StatusCode, body)
		status = http.StatusOK
	}
	type want struct {
		Status int
		Body   string
	}
	get := func(path, date string) want {
		t.Helper()
		resp, body := f.do(t, http.MethodGet, path, nil, "Range", "bytes=0-1", "If-Range", date)
		return want{resp.StatusCode, body}
	}
	date := func() string { return f.Clock.Now().UTC().Format(http.TimeFormat) }

	put("first")
	first := date()
	assert.Equal(t, want{206, "fi"}, get("/objects/k", first), "the only version")
	f.Clock.Add(400 * time.Millisecond) // the same second
	put("other")
	assert.Equal(t, want{200, "other"}, get("/objects/k", first), "a second version in the same second")
	assert.Equal(t, want{206, "ot"}, get("/objects/k?version=2", first), "a numbered version")
	f.Clock.Add(time.Second)
	put("third")
	assert.Equal(t, want{206, "th"}, get("/objects/k", date()), "the one version of its second")
}
