package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/api"
	"github.com/gocourse/gateway/07-object-storage/blob"
)

// A PUT's Content-Type is kept with its version and sent back by GET and
// HEAD, by a 206 and by each part of a multipart/byteranges answer, with
// nosniff; the PUT's answer and the versions listing say it too.
func TestContentTypeRoundTrip(t *testing.T) {
	f := newAPI(t)
	const png = "image/png"
	resp, body := f.do(t, http.MethodPut, "/objects/pic", strings.NewReader("0123456789"), "Content-Type", png)
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	var info api.Info
	require.NoError(t, json.Unmarshal([]byte(body), &info))
	assert.Equal(t, png, info.ContentType, "the PUT's answer")
	etag := resp.Header.Get("ETag")

	for _, tc := range []struct {
		method string
		header []string
		status int
	}{
		{http.MethodGet, nil, http.StatusOK},
		{http.MethodHead, nil, http.StatusOK},
		{http.MethodGet, []string{"Range", "bytes=2-4"}, http.StatusPartialContent},
		{http.MethodGet, []string{"Range", "bytes=2-4", "If-Range", etag}, http.StatusPartialContent},
		{http.MethodHead, []string{"If-Match", etag}, http.StatusOK},
	} {
		resp, _ := f.do(t, tc.method, "/objects/pic", nil, tc.header...)
		assert.Equal(t, tc.status, resp.StatusCode, "%s %q", tc.method, tc.header)
		assert.Equal(t, png, resp.Header.Get("Content-Type"), "%s %q", tc.method, tc.header)
		assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), "%s %q", tc.method, tc.header)
	}

	// Several ranges: the answer's type is multipart/byteranges, and each
	// part has the object's.
	resp, body = f.do(t, http.MethodGet, "/objects/pic", nil, "Range", "bytes=0-1,8-9")
	require.Equal(t, http.StatusPartialContent, resp.StatusCode)
	mediaType, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	require.NoError(t, err)
	assert.Equal(t, "multipart/byteranges", mediaType)
	mr := multipart.NewReader(strings.NewReader(body), params["boundary"])
	parts := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		assert.Equal(t, png, p.Header.Get("Content-Type"), "part %d", parts)
		parts++
	}
	assert.Equal(t, 2, parts)

	// A second version with another type; the first keeps its own.
	resp, body = f.do(t, http.MethodPut, "/objects/pic", strings.NewReader("new"), "Content-Type", "text/plain; charset=utf-8")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	resp, _ = f.do(t, http.MethodGet, "/objects/pic", nil)
	assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
	resp, _ = f.do(t, http.MethodGet, "/objects/pic?version=1", nil)
	assert.Equal(t, png, resp.Header.Get("Content-Type"))
	resp, _ = f.do(t, http.MethodHead, "/objects/pic?version=1", nil)
	assert.Equal(t, png, resp.Header.Get("Content-Type"))

	resp, body = f.do(t, http.MethodGet, "/versions/pic", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var vs api.VersionList
	require.NoError(t, json.Unmarshal([]byte(body), &vs))
	var types []string
	for _, v := range vs.Versions {
		types = append(types, v.ContentType)
	}
	if diff := cmp.Diff([]string{png, "text/plain; charset=utf-8"}, types); diff != "" {
		t.Errorf("the versions' types (-want +got):\n%s", diff)
	}
	resp, body = f.do(t, http.MethodGet, "/objects/?prefix=pic", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, `"content_type":"text/plain; charset=utf-8"`, "the listing")
}

// An object put without a Content-Type has none: GET and HEAD send
// application/octet-stream, and its JSON has no content_type.
func TestNoContentTypeIsOctetStream(t *testing.T) {
	f := newAPI(t)
	resp, body := f.do(t, http.MethodPut, "/objects/plain", strings.NewReader("<html>not sniffed</html>"))
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	assert.NotContains(t, body, "content_type")
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		resp, _ := f.do(t, method, "/objects/plain", nil)
		assert.Equal(t, "application/octet-stream", resp.Header.Get("Content-Type"), method)
		assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), method)
	}
	resp, _ = f.do(t, http.MethodGet, "/objects/plain", nil, "Range", "bytes=0-5")
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.Equal(t, "application/octet-stream", resp.Header.Get("Content-Type"))
}

// The same bytes put under two keys with two types: one blob, two types.
func TestDeduplicatedContentKeepsEachType(t *testing.T) {
	f := newAPI(t)
	for key, ct := range map[string]string{"a.csv": "text/csv", "a.json": "application/json"} {
		resp, body := f.do(t, http.MethodPut, "/objects/"+key, strings.NewReader("same bytes"), "Content-Type", ct)
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	}
	for key, ct := range map[string]string{"a.csv": "text/csv", "a.json": "application/json"} {
		resp, body := f.do(t, http.MethodGet, "/objects/"+key, nil)
		assert.Equal(t, "same bytes", body)
		assert.Equal(t, ct, resp.Header.Get("Content-Type"), key)
	}
}

// A Content-Type that is not a media type is a 400 that says why, and
// stores nothing: no version, and no byte sent to a data server. So for
// a large PUT that would be streamed.
func TestBadContentTypeIs400(t *testing.T) {
	f := newAPIWith(t, 8<<20)
	large := make([]byte, 2*blob.ChunkSize+1)
	rand.NewChaCha8([32]byte{3}).Read(large)
	patient := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Hour}}
	t.Cleanup(patient.CloseIdleConnections)
	for _, ct := range []string{"image", "text/plain; charset", "text/plain; x=" + strings.Repeat("y", 300)} {
		resp, body := f.do(t, http.MethodPut, "/objects/bad", strings.NewReader("x"), "Content-Type", ct)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, ct)
		assert.Contains(t, body, "bad content type", ct)
		// The body is refused unread: with 100-continue, and a client
		// that waits for the answer as long as it takes, it is not sent,
		// and no reset connection hides the answer.
		req, err := http.NewRequest(http.MethodPut, f.url+"/objects/bad", bytes.NewReader(large))
		require.NoError(t, err)
		req.Header.Set("Content-Type", ct)
		req.Header.Set(api.DigestHeader, string(blob.Sum(large)))
		req.Header.Set("Expect", "100-continue")
		resp, err = patient.Do(req)
		require.NoError(t, err)
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "streamed, %s", ct)
		assert.Contains(t, string(msg), "bad content type", ct)
	}
	resp, _ := f.do(t, http.MethodGet, "/objects/bad", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	_, body := f.do(t, http.MethodGet, "/objects/?prefix=bad", nil)
	assert.JSONEq(t, `{"objects":[]}`, body, "the key is listed")
	assert.Zero(t, f.Puts(), "a blob was sent to a data server")
}

// A PUT with a Content-Encoding is a 415 that says, in Accept-Encoding,
// that a PUT takes none, and nothing is stored: the store would keep the
// encoded bytes and serve them without the coding, as bytes of the type
// they encode (RFC 9110, sections 12.5.3 and 15.5.16). "identity" is no
// coding.
func TestContentEncodingIs415(t *testing.T) {
	f := newAPI(t)
	for _, coding := range []string{"gzip", "br", "identity, gzip"} {
		resp, body := f.do(t, http.MethodPut, "/objects/k", strings.NewReader("\x1f\x8b..."), "Content-Type", "text/plain", "Content-Encoding", coding)
		assert.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode, "%s: %s", coding, body)
		assert.Equal(t, "identity", resp.Header.Get("Accept-Encoding"), coding)
		assert.Contains(t, body, "Content-Encoding", coding)
	}
	resp, _ := f.do(t, http.MethodGet, "/objects/k", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "something was stored")
	assert.Zero(t, f.Puts())

	// No coding at all: identity, or an empty list (RFC 9110, section
	// 5.6.1.2: a recipient ignores empty list elements).
	for _, coding := range []string{"Identity", "", " , ", "identity,"} {
		resp, body := f.do(t, http.MethodPut, "/objects/k", strings.NewReader("plain"), "Content-Encoding", coding)
		assert.Less(t, resp.StatusCode, 300, "Content-Encoding %q: %s", coding, body)
	}
}

// A PUT of the same bytes with another type changes the ETag: a cache
// that revalidates what it kept (a browser, told max-age=0 and
// must-revalidate) gets the new type in a 200, where a 304 would have it
// keep the old one (a 304 carries no Content-Type, and browsers do not
// take one from it). Retyping an upload from text/html to text/plain
// must reach them.
func TestAnotherTypeIsAnotherETag(t *testing.T) {
	f := newAPI(t)
	resp, body := f.do(t, http.MethodPut, "/objects/k", strings.NewReader("<p>same</p>"), "Content-Type", "text/html")
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	html := resp.Header.Get("ETag")
	resp, body = f.do(t, http.MethodPut, "/objects/k", strings.NewReader("<p>same</p>"), "Content-Type", "text/plain")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	plain := resp.Header.Get("ETag")
	assert.NotEqual(t, html, plain)

	for _, method := range []string{http.MethodGet, http.MethodHead} {
		resp, _ = f.do(t, method, "/objects/k", nil, "If-None-Match", html)
		assert.Equal(t, http.StatusOK, resp.StatusCode, method)
		assert.Equal(t, "text/plain", resp.Header.Get("Content-Type"), method)
		assert.Equal(t, plain, resp.Header.Get("ETag"), method)
		resp, _ = f.do(t, method, "/objects/k", nil, "If-None-Match", plain)
		assert.Equal(t, http.StatusNotModified, resp.StatusCode, method)
	}
	resp, _ = f.do(t, http.MethodGet, "/objects/k?version=1", nil)
	assert.Equal(t, html, resp.Header.Get("ETag"), "version 1 keeps its own")
	resp, _ = f.do(t, http.MethodGet, "/objects/k", nil, "Range", "bytes=0-2", "If-Range", html)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "If-Range with the old type's ETag: the whole, new")

	// A streamed PUT (its digest sent first) answers with the ETag that
	// GET sends, as a spooled one does.
	resp, body = f.do(t, http.MethodPut, "/objects/s", strings.NewReader("<p>same</p>"), "Content-Type", "text/html", api.DigestHeader, string(blob.Sum([]byte("<p>same</p>"))))
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	streamed := resp.Header.Get("ETag")
	resp, _ = f.do(t, http.MethodGet, "/objects/s", nil)
	assert.Equal(t, streamed, resp.Header.Get("ETag"))
	assert.Equal(t, html, streamed, "the same bytes and type under another key")
}
