package api_test

import (
	"bytes"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/client"
)

// A HEAD needs metadata only: whatever its preconditions and its Range,
// it is answered without a request to a data server, for an object read
// whole (small) as for one streamed (large). The client's data cache is
// off, so that a HEAD that fetched the content would reach a data server
// every time.
func TestHeadReadsNoData(t *testing.T) {
	f := newAPIWithClient(t, 8<<20, client.Options{DataCacheBytes: -1})
	large := make([]byte, 2*blob.ChunkSize+10)
	rand.NewChaCha8([32]byte{3}).Read(large)
	for _, o := range []struct{ path, data string }{
		{"/objects/small", "0123456789"},
		{"/objects/large", string(large)},
	} {
		resp, body := f.do(t, http.MethodPut, o.path, strings.NewReader(o.data))
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		etag := resp.Header.Get("ETag")
		for _, tc := range []struct {
			header []string
			status int
		}{
			{nil, http.StatusOK},
			{[]string{"Range", "bytes=0-3"}, http.StatusOK},
			{[]string{"If-None-Match", etag}, http.StatusNotModified},
			{[]string{"If-None-Match", `"other"`}, http.StatusOK},
			{[]string{"If-Match", `"other"`}, http.StatusPreconditionFailed},
			{[]string{"If-Match", etag, "If-None-Match", etag}, http.StatusNotModified},
		} {
			gets := f.Gets()
			resp, body := f.do(t, http.MethodHead, o.path, nil, tc.header...)
			assert.Equal(t, tc.status, resp.StatusCode, "HEAD %s %q", o.path, tc.header)
			assert.Empty(t, body, "HEAD %s %q", o.path, tc.header)
			assert.Equal(t, gets, f.Gets(), "HEAD %s %q sent GETs to the data servers", o.path, tc.header)
		}
		// The count does see a read: a GET of the same object reaches a
		// data server.
		gets := f.Gets()
		resp, body = f.do(t, http.MethodGet, o.path, nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.True(t, bytes.Equal([]byte(o.data), []byte(body)), "GET %s", o.path)
		assert.Greater(t, f.Gets(), gets, "GET %s reached no data server", o.path)
	}
}
