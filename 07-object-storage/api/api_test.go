package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/deadaddr"
	"github.com/gocourse/gateway/07-object-storage/api"
	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/meta"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

type fixture struct {
	*storetest.Cluster
	url     string
	tempDir string
	done    chan struct{}
}

// newAPI starts a store of three data servers and one API server taking
// objects of up to 1 KiB.
func newAPI(t *testing.T) *fixture {
	t.Helper()
	return newAPIWith(t, 1024)
}

// newAPIWith is newAPI for objects of up to maxSize bytes; configure
// may change the API server before it serves.
func newAPIWith(t *testing.T, maxSize int64, configure ...func(*api.Server)) *fixture {
	t.Helper()
	return newAPIWithClient(t, maxSize, client.Options{}, configure...)
}

// newAPIWithClient is newAPIWith, its client made with opt (its
// metadata server, temporary directory, clock and log set here).
func newAPIWithClient(t *testing.T, maxSize int64, opt client.Options, configure ...func(*api.Server)) *fixture {
	t.Helper()
	f := &fixture{Cluster: storetest.New(t, 3, meta.Options{}), tempDir: t.TempDir(), done: make(chan struct{}, 100)}
	opt.MetaURL, opt.TempDir, opt.Now, opt.Log = f.MetaURL, f.tempDir, f.Clock.Now, storetest.Quiet
	c := client.New(opt)
	h := api.New(c, maxSize, storetest.Quiet)
	h.Now = f.Clock.Now // the client's clock
	for _, fn := range configure {
		fn(h)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { f.done <- struct{}{} }()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// newAPIOn starts an API server taking objects of up to 1 KiB in front
// of cl, a store made with options of its own (a capacity, a limit on a
// blob's size), and returns it with its client, for looking behind it.
func newAPIOn(t *testing.T, cl *storetest.Cluster) (*fixture, *client.Client) {
	t.Helper()
	c := client.New(client.Options{MetaURL: cl.MetaURL, TempDir: t.TempDir(), Now: cl.Clock.Now, Log: storetest.Quiet})
	srv := httptest.NewServer(api.New(c, 1024, storetest.Quiet))
	t.Cleanup(srv.Close)
	return &fixture{Cluster: cl, url: srv.URL}, c
}

func (f *fixture) do(t *testing.T, method, path string, body io.Reader, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.url+path, body)
	require.NoError(t, err)
	for i := 0; i < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

func TestPutGetHeadDelete(t *testing.T) {
	f := newAPI(t)
	data := "hello, object store"
	resp, body := f.do(t, http.MethodPut, "/objects/docs/hello.txt", strings.NewReader(data))
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	var info api.Info
	require.NoError(t, json.Unmarshal([]byte(body), &info))
	want := api.Info{Key: "docs/hello.txt", Version: 1, Size: int64(len(data)), SHA256: blob.Sum([]byte(data)), Created: f.Clock.Now()}
	if diff := cmp.Diff(want, info); diff != "" {
		t.Errorf("PUT answer (-want +got):\n%s", diff)
	}
	// The content's hash, and a digest of its type (TestAnotherTypeIsAnotherETag).
	etag := resp.Header.Get("ETag")
	assert.Regexp(t, `^"`+string(info.SHA256)+`\.[0-9a-f]{16}"$`, etag)

	resp, body = f.do(t, http.MethodGet, "/objects/docs/hello.txt", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, data, body)
	assert.Equal(t, etag, resp.Header.Get("ETag"))
	assert.Equal(t, "1", resp.Header.Get("X-Version"))
	assert.Equal(t, int64(len(data)), resp.ContentLength)

	resp, body = f.do(t, http.MethodHead, "/objects/docs/hello.txt", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, body)
	assert.Equal(t, int64(len(data)), resp.ContentLength)
	assert.Equal(t, etag, resp.Header.Get("ETag"))

	resp, _ = f.do(t, http.MethodGet, "/objects/docs/hello.txt", nil, "If-None-Match", etag)
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)

	resp, _ = f.do(t, http.MethodDelete, "/objects/docs/hello.txt", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = f.do(t, http.MethodGet, "/objects/docs/hello.txt", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, body = f.do(t, http.MethodGet, "/objects/docs/hello.txt?version=1", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, data, body, "older versions stay readable after a delete")
}

func TestRange(t *testing.T) {
	f := newAPI(t)
	f.do(t, http.MethodPut, "/objects/digits", strings.NewReader("0123456789"))
	resp, body := f.do(t, http.MethodGet, "/objects/digits", nil, "Range", "bytes=3-5")
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.Equal(t, "345", body)
	assert.Equal(t, "bytes 3-5/10", resp.Header.Get("Content-Range"))

	resp, _ = f.do(t, http.MethodGet, "/objects/digits", nil, "Range", "bytes=20-30")
	assert.Equal(t, http.StatusRequestedRangeNotSatisfiable, resp.StatusCode)
}

// An object larger than the client's MemoryLimit is streamed chunk by
// chunk (client.Get); http.ServeContent answers Range and conditional
// requests from the stream as from a file.
func TestLargeObjectStreamed(t *testing.T) {
	f := newAPIWith(t, 8<<20)
	data := make([]byte, 3*blob.ChunkSize+blob.ChunkSize/2)
	rand.NewChaCha8([32]byte{7}).Read(data)
	resp, body := f.do(t, http.MethodPut, "/objects/big", bytes.NewReader(data))
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	etag := resp.Header.Get("ETag")

	resp, body = f.do(t, http.MethodGet, "/objects/big", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, string(data), body)

	resp, body = f.do(t, http.MethodGet, "/objects/big", nil, "Range", "bytes=2097152-2097161")
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.Equal(t, string(data[2097152:2097162]), body)
	assert.Equal(t, "bytes 2097152-2097161/"+strconv.Itoa(len(data)), resp.Header.Get("Content-Range"))

	ranges := func() []string {
		var all []string
		for _, d := range f.Data {
			all = append(all, d.Ranges()...)
		}
		return all
	}
	// A range is read from the data servers from the chunk it starts in
	// (client.GetFrom), not from chunk 0.
	for _, tc := range []struct{ header, chunkStart string }{
		{"bytes=2097152-2097161", "2097152"},
		{"bytes=-10", "3145728"},
		{"bytes=2097152-2097153, 3145728-3145729", "2097152"},
	} {
		before := len(ranges())
		resp, body = f.do(t, http.MethodGet, "/objects/big", nil, "Range", tc.header)
		assert.Equal(t, http.StatusPartialContent, resp.StatusCode, tc.header)
		assert.Equal(t, "bytes="+tc.chunkStart+"-", ranges()[before], tc.header)
	}
	resp, body = f.do(t, http.MethodGet, "/objects/big", nil, "Range", "bytes=-10")
	assert.Equal(t, string(data[len(data)-10:]), body)

	// Ranges that go back and forth are ignored, the object sent whole in
	// one pass: each would fetch a chunk again (a megabyte for a byte).
	before := len(ranges())
	back := strings.Repeat("0-0,2097152-2097152,", 50)
	resp, body = f.do(t, http.MethodGet, "/objects/big", nil, "Range", "bytes="+back)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "bytes=0-0,2097152-2097152,...")
	assert.Equal(t, string(data), body)
	assert.LessOrEqual(t, len(ranges())-before, 4, "requests to the data servers for 4 chunks")
	// The same ranges in order are a 206, read in one pass.
	before = len(ranges())
	var ascending []string
	for i := range 100 {
		ascending = append(ascending, fmt.Sprintf("%d-%d", i*30000, i*30000))
	}
	resp, _ = f.do(t, http.MethodGet, "/objects/big", nil, "Range", "bytes="+strings.Join(ascending, ","))
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode, "100 ranges in order")
	assert.LessOrEqual(t, len(ranges())-before, 4, "requests to the data servers for 4 chunks")

	gets := f.Gets()
	resp, _ = f.do(t, http.MethodGet, "/objects/big", nil, "If-None-Match", `"nope", W/`+etag)
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)
	assert.Equal(t, etag, resp.Header.Get("ETag"))
	assert.Equal(t, gets, f.Gets(), "a 304 fetched data")
	resp, _ = f.do(t, http.MethodGet, "/objects/big", nil, "If-None-Match", `"nope"`)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = f.do(t, http.MethodGet, "/objects/big", nil, "If-None-Match", etag, "If-Match", `"other"`)
	assert.Equal(t, http.StatusPreconditionFailed, resp.StatusCode, "If-Match comes first")
	assert.Contains(t, ranges(), "bytes=0-", "streamed: read from the data servers with Range")
	assert.NotContains(t, ranges(), "", "read whole")
}

// putLarge stores size seeded random bytes as /objects/big, above the
// client's MemoryLimit so that reads stream, and returns them with the
// API server's answer.
func putLarge(t *testing.T, f *fixture, seed byte, size int) ([]byte, api.Info) {
	t.Helper()
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{seed}).Read(data)
	resp, body := f.do(t, http.MethodPut, "/objects/big", bytes.NewReader(data))
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	var info api.Info
	require.NoError(t, json.Unmarshal([]byte(body), &info))
	return data, info
}

// When no replica can serve a chunk of a streamed object, the answer has
// begun: it is cut short, and the client, which sees fewer bytes than
// Content-Length, gets an error. It never gets the bad bytes.
func TestLargeObjectCutShortNotCorrupted(t *testing.T) {
	f := newAPIWith(t, 8<<20)
	data, info := putLarge(t, f, 8, 3*blob.ChunkSize+blob.ChunkSize/2)
	for _, d := range f.Data {
		if d.Has(info.SHA256) {
			d.Corrupt(t, info.SHA256) // chunk 1, on every copy
		}
	}
	resp, err := http.Get(f.url + "/objects/big")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "chunk 0 was good: the answer began")
	got, err := io.ReadAll(resp.Body)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Equal(t, data[:blob.ChunkSize], got, "only chunk 0, and all of it")
}

// So is a multipart/byteranges answer whose second range lies in a
// chunk no replica has good: ServeContent sends a Content-Length for it
// too, so the client sees the answer end early, and the first part is
// all it gets of the object. Without a length, a chunked answer ended by
// the handler would look complete.
func TestLargeObjectMultipartCutShortNotCorrupted(t *testing.T) {
	f := newAPIWith(t, 8<<20)
	data, info := putLarge(t, f, 8, 3*blob.ChunkSize+blob.ChunkSize/2)
	mid := len(data) / 2 // the byte Corrupt flips, in chunk 1
	for _, d := range f.Data {
		if d.Has(info.SHA256) {
			d.Corrupt(t, info.SHA256)
		}
	}
	req, err := http.NewRequest(http.MethodGet, f.url+"/objects/big", nil)
	require.NoError(t, err)
	req.Header.Set("Range", fmt.Sprintf("bytes=0-9,%d-%d", mid-5, mid+5))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode, "chunk 0 was good: the answer began")
	assert.Contains(t, resp.Header.Get("Content-Type"), "multipart/byteranges")
	assert.NotEmpty(t, resp.Header.Get("Content-Length"), "without a length, a cut answer looks whole")
	got, err := io.ReadAll(resp.Body)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Contains(t, string(got), string(data[:10]), "the first part")
	bad := bytes.Clone(data[mid-5 : mid+6])
	bad[5] ^= 0x40
	assert.NotContains(t, string(got), string(bad), "the damaged bytes")
	assert.NotContains(t, string(got), string(data[mid-5:mid+6]), "bytes of a chunk that failed its check")
}

// When no replica has a good copy of the first chunk an answer needs
// (chunk 0, or the chunk a Range request starts in), a streamed object
// fails before its answer begins (client.GetFrom checks that chunk
// before it returns): a clean 502, not a 200 or 206 cut short.
func TestLargeObjectBadFromTheStartIs502(t *testing.T) {
	for name, tc := range map[string]struct {
		flip   int      // the byte flipped on every copy
		range_ []string // the request's Range header, if any
	}{
		"whole, chunk 0 bad":           {flip: 10},
		"range from chunk 1, it bad":   {flip: blob.ChunkSize + 10, range_: []string{"Range", "bytes=1048576-1048585"}},
		"suffix range, last chunk bad": {flip: 2 * blob.ChunkSize, range_: []string{"Range", "bytes=-1"}},
		// ServeContent sends the whole object when If-Range does not
		// match, or when the ranges overlap (byteRanges): chunk 0 is
		// the first it reads, not the chunk the range starts in.
		"range from chunk 1, If-Range another tag, chunk 0 bad": {flip: 10, range_: []string{"Range", "bytes=1048576-1048585", "If-Range", `"other"`}},
		"range from chunk 1, If-Range an old date, chunk 0 bad": {flip: 10, range_: []string{"Range", "bytes=1048576-1048585", "If-Range", "Mon, 02 Jan 2006 15:04:05 GMT"}},
		"overlapping ranges from chunk 1, chunk 0 bad":          {flip: 10, range_: []string{"Range", "bytes=1048576-1048585,1048580-1048590"}},
		// A unit name is case-insensitive: "Bytes=" is bytes.
		"range from chunk 1 in Bytes=, it bad": {flip: blob.ChunkSize + 10, range_: []string{"Range", "Bytes=1048576-1048585"}},
		// ServeContent skips a range past the end, and "-0", which
		// byteRanges makes one: the answer starts in the first range
		// that selects a byte, here in chunk 0.
		"a range past the end, then one in chunk 0, it bad": {flip: 10, range_: []string{"Range", "bytes=9999999-,0-20"}},
		"bytes=-0, then a range in chunk 0, it bad":         {flip: 10, range_: []string{"Range", "bytes=-0,0-20"}},
		"a range past the end, then one in chunk 1, it bad": {flip: blob.ChunkSize + 10, range_: []string{"Range", "bytes=9999999-,1048576-1048585"}},
	} {
		t.Run(name, func(t *testing.T) {
			f := newAPIWith(t, 8<<20)
			data, info := putLarge(t, f, 10, 2*blob.ChunkSize+blob.ChunkSize/2)
			flipped := 0
			for _, d := range f.Data {
				if d.Has(info.SHA256) {
					path := d.BlobPath(info.SHA256)
					b, err := os.ReadFile(path)
					require.NoError(t, err)
					b[tc.flip] ^= 0x40 // on every copy
					require.NoError(t, os.WriteFile(path, b, 0o644))
					flipped++
				}
			}
			require.Equal(t, 2, flipped)
			resp, body := f.do(t, http.MethodGet, "/objects/big", nil, tc.range_...)
			assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
			assert.NotContains(t, body, string(data[tc.flip+100:tc.flip+164]), "no byte of the object")
			assert.Less(t, len(body), 1024, "an error message, not the object")
		})
	}
}

// With X-Content-SHA256 a large PUT is streamed (client.PutStream); a
// body that does not match is still a 400 with nothing stored.
func TestLargePutWithDigest(t *testing.T) {
	f := newAPIWith(t, 8<<20)
	data := make([]byte, 2*blob.ChunkSize+1)
	rand.NewChaCha8([32]byte{9}).Read(data)
	sum := string(blob.Sum(data))
	wrong := string(blob.Sum([]byte("other")))
	require.NoError(t, os.Remove(f.tempDir)) // a spooled PUT would now fail with 500
	// Just over the client's 1 MiB memory limit, so that the spool needs a
	// file: the server answers 500 with a few bytes of the body unread,
	// which net/http reads and throws away; with a megabyte unread it
	// would close the connection, and the client could see its write
	// reset before the answer.
	spooled := data[:1<<20+512]
	resp, body := f.do(t, http.MethodPut, "/objects/big", bytes.NewReader(spooled))
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode, "without the header a large PUT spools")
	resp, body = f.do(t, http.MethodPut, "/objects/big", bytes.NewReader(data), api.DigestHeader, wrong)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
	resp, _ = f.do(t, http.MethodGet, "/objects/big", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	resp, body = f.do(t, http.MethodPut, "/objects/big", bytes.NewReader(data), api.DigestHeader, sum, "Content-Type", "application/x-tar")
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	resp, body = f.do(t, http.MethodGet, "/objects/big", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, string(data), body)
	assert.Equal(t, "application/x-tar", resp.Header.Get("Content-Type"), "a streamed PUT keeps its type")
}

// A PUT answers 201 when it creates the key's current object, 200 when it
// replaces one (RFC 9110, section 9.3.4), and 201 again after a DELETE:
// a delete marker is no current object. Both ways, streamed with its hash
// sent first, or spooled.
func TestPutCreatedThenReplaced(t *testing.T) {
	f := newAPI(t)
	for _, hashed := range []bool{false, true} {
		key := fmt.Sprintf("/objects/k-%v", hashed)
		put := func(content string) int {
			t.Helper()
			var headers []string
			if hashed {
				headers = []string{"X-Content-SHA256", string(blob.Sum([]byte(content)))}
			}
			resp, body := f.do(t, http.MethodPut, key, strings.NewReader(content), headers...)
			require.Less(t, resp.StatusCode, 300, body)
			return resp.StatusCode
		}
		assert.Equal(t, http.StatusCreated, put("one"), "the first PUT of %s", key)
		assert.Equal(t, http.StatusOK, put("two"), "a PUT over %s", key)
		assert.Equal(t, http.StatusOK, put("two"), "the same content again over %s", key)
		resp, _ := f.do(t, http.MethodDelete, key, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, http.StatusCreated, put("three"), "a PUT after %s was deleted", key)
	}
}

func TestListAndVersions(t *testing.T) {
	f := newAPI(t)
	for i, k := range []string{"a/1", "a/2", "b/1", "a/1"} {
		resp, _ := f.do(t, http.MethodPut, "/objects/"+k, strings.NewReader(k))
		require.Equal(t, []int{201, 201, 201, 200}[i], resp.StatusCode, "PUT %s: 201 Created, then 200 when it replaces", k)
	}
	resp, body := f.do(t, http.MethodGet, "/objects/?prefix=a/&limit=1", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var l api.Listing
	require.NoError(t, json.Unmarshal([]byte(body), &l))
	require.Len(t, l.Objects, 1)
	assert.Equal(t, "a/1", l.Objects[0].Key)
	assert.Equal(t, uint64(2), l.Objects[0].Version)
	assert.Equal(t, "a/1", l.Next)

	resp, body = f.do(t, http.MethodGet, "/objects/?prefix=a/&limit=1&after="+l.Next, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	l = api.Listing{}
	require.NoError(t, json.Unmarshal([]byte(body), &l))
	require.Len(t, l.Objects, 1, "the second page")
	assert.Equal(t, "a/2", l.Objects[0].Key, "the page after a/1")
	assert.Empty(t, l.Next, "the last page")

	resp, body = f.do(t, http.MethodGet, "/versions/a/1", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var vs api.VersionList
	require.NoError(t, json.Unmarshal([]byte(body), &vs))
	assert.Len(t, vs.Versions, 2)
	assert.Zero(t, vs.Next)

	// A key's versions by page: the first, then the one after it.
	resp, body = f.do(t, http.MethodGet, "/versions/a/1?limit=1", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	vs = api.VersionList{}
	require.NoError(t, json.Unmarshal([]byte(body), &vs))
	require.Len(t, vs.Versions, 1, body)
	assert.Equal(t, uint64(1), vs.Versions[0].Version)
	assert.Equal(t, uint64(1), vs.Next)
	resp, body = f.do(t, http.MethodGet, "/versions/a/1?limit=1&after=1", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	vs = api.VersionList{}
	require.NoError(t, json.Unmarshal([]byte(body), &vs))
	require.Len(t, vs.Versions, 1, body)
	assert.Equal(t, uint64(2), vs.Versions[0].Version)
	assert.Zero(t, vs.Next, "the last page")

	for _, bad := range []string{"/objects/?limit=0", "/versions/a/1?limit=0", "/versions/a/1?limit=1001", "/versions/a/1?after=x", "/versions/a/1?after=-1"} {
		resp, _ = f.do(t, http.MethodGet, bad, nil)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, bad)
	}
}

// Keys arrive exactly as sent: no router cleans the path, so a ".."
// segment is refused rather than resolved, and "a//b" stays "a//b".
func TestKeysAreNotCleaned(t *testing.T) {
	f := newAPI(t)
	for _, path := range []string{"/objects/a/../b", "/objects/./b", "/objects/a%00b", "/objects/caf%E9", "/objects/" + strings.Repeat("k", 1025), "/objects/"} {
		resp, body := f.do(t, http.MethodPut, path, strings.NewReader("x"))
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s: %s", path, body)
		assert.Contains(t, body, "bad object key")
	}
	resp, body := f.do(t, http.MethodDelete, "/objects/", nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "DELETE of the empty key: %s", body)
	assert.Contains(t, body, "bad object key: empty")
	resp, _ = f.do(t, http.MethodPut, "/objects/a//b", strings.NewReader("double"))
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	resp, _ = f.do(t, http.MethodGet, "/objects/a/b", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "a//b and a/b are different keys")
	assert.Equal(t, int32(2), f.Puts(), "only the good key reached the data servers (R=2 copies)")
}

// A PUT whose X-Content-SHA256 does not match its body, or is not a
// hash, is a 400 and stores nothing, whichever way the body comes: with
// a Content-Length (streamed to the data servers, client.PutStream) or
// chunked, with no length (spooled, client.PutDigest).
func TestDigestHeader(t *testing.T) {
	for name, body := range map[string]func(string) io.Reader{
		"with a length": func(s string) io.Reader { return strings.NewReader(s) },
		"chunked":       func(s string) io.Reader { return io.MultiReader(strings.NewReader(s)) },
	} {
		t.Run(name, func(t *testing.T) {
			f := newAPI(t)
			resp, text := f.do(t, http.MethodPut, "/objects/k", body("actual"), api.DigestHeader, string(blob.Sum([]byte("promised"))))
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Contains(t, text, "does not match")
			resp, _ = f.do(t, http.MethodPut, "/objects/k", body("x"), api.DigestHeader, "nonsense")
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			resp, _ = f.do(t, http.MethodGet, "/objects/k", nil)
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "a PUT with a wrong digest stored something")
			assert.Zero(t, f.Puts())

			resp, text = f.do(t, http.MethodPut, "/objects/k", body("actual"), api.DigestHeader, string(blob.Sum([]byte("actual"))))
			assert.Equal(t, http.StatusCreated, resp.StatusCode, "the right digest: %s", text)
		})
	}
}

// A PUT over the limit (1024 bytes here) is a 413 that names the limit,
// by its Content-Length and chunked, and stores nothing; one of exactly
// the limit is stored, both ways.
func TestSizeLimit(t *testing.T) {
	f := newAPI(t)
	big := bytes.Repeat([]byte("x"), 1025)
	resp, body := f.do(t, http.MethodPut, "/objects/big", bytes.NewReader(big))
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.Contains(t, body, "limit of 1024 bytes")
	resp, body = f.do(t, http.MethodPut, "/objects/big", io.MultiReader(bytes.NewReader(big))) // chunked
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.Contains(t, body, "limit of 1024 bytes")
	resp, _ = f.do(t, http.MethodGet, "/objects/big", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Zero(t, f.Puts())

	exact := big[:1024]
	resp, body = f.do(t, http.MethodPut, "/objects/exact", bytes.NewReader(exact))
	assert.Equal(t, http.StatusCreated, resp.StatusCode, "exactly the limit, with a Content-Length: %s", body)
	resp, body = f.do(t, http.MethodPut, "/objects/exact-chunked", io.MultiReader(bytes.NewReader(exact)))
	assert.Equal(t, http.StatusCreated, resp.StatusCode, "exactly the limit, chunked: %s", body)
}

// A client that hangs up mid-upload leaves no object, no blob and no
// spool file: in memory (a small body), and in a file (past the client's
// 1 MiB MemoryLimit, the part sent already written to the spool file).
func TestClientDisconnectMidUpload(t *testing.T) {
	for _, tc := range []struct {
		name       string
		size, sent int
	}{
		{"in memory", 1000, 15},
		{"in a file", 4 << 20, 2 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newAPIWith(t, 8<<20)
			conn, err := net.Dial("tcp", strings.TrimPrefix(f.url, "http://"))
			require.NoError(t, err)
			_, err = fmt.Fprintf(conn, "PUT /objects/k HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n\r\n%s", tc.size, bytes.Repeat([]byte("x"), tc.sent))
			require.NoError(t, err)
			require.NoError(t, conn.Close())
			select {
			case <-f.done:
			case <-time.After(10 * time.Second):
				t.Fatal("the handler did not return after the client hung up")
			}
			resp, _ := f.do(t, http.MethodGet, "/objects/k", nil)
			assert.Equal(t, http.StatusNotFound, resp.StatusCode)
			assert.Zero(t, f.Puts())
			assertEmptyDir(t, f.tempDir)
		})
	}
}

// The same, on the streamed path (a large body with X-Content-SHA256 and
// Content-Length, client.PutStream): the client sends half the body and
// hangs up. No version is committed, no data server keeps the blob or a
// temporary file once its handlers have returned (before any sweep), and
// nothing is spooled.
func TestClientDisconnectMidStreamedUpload(t *testing.T) {
	f := newAPIWith(t, 8<<20)
	data := make([]byte, 4<<20) // over the client's 1 MiB MemoryLimit: streamed
	rand.NewChaCha8([32]byte{7}).Read(data)
	h := blob.Sum(data)
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.url, "http://"))
	require.NoError(t, err)
	_, err = fmt.Fprintf(conn, "PUT /objects/k HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n%s: %s\r\n\r\n", len(data), api.DigestHeader, h)
	require.NoError(t, err)
	_, err = conn.Write(data[:len(data)/2])
	require.NoError(t, err)
	require.NoError(t, conn.Close())
	waitFor(t, f.done)

	streamed := 0
	for _, d := range f.Data {
		streamed += int(d.Puts.Load())
		// Close waits for the data server's handlers to return: an upload
		// the fan-out dropped has finished with whatever it left behind.
		d.HTTP.Close()
		assert.False(t, d.Has(h), "a data server kept the blob")
		assertEmptyDir(t, filepath.Join(d.Dir, "tmp"))
	}
	assert.Equal(t, 2, streamed, "the body was streamed to R data servers, not refused before the upload")
	versions, err := f.Namespace().Versions("k")
	assert.ErrorIs(t, err, meta.ErrNotFound)
	assert.Empty(t, versions, "a version was committed")
	assertEmptyDir(t, f.tempDir)
}

// A corrupt replica is never served: the API answers from a good one.
func TestCorruptReplicaNotServed(t *testing.T) {
	f := newAPI(t)
	resp, body := f.do(t, http.MethodPut, "/objects/k", strings.NewReader("genuine content"))
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	var info api.Info
	require.NoError(t, json.Unmarshal([]byte(body), &info))
	for _, d := range f.Data {
		if d.Has(info.SHA256) {
			require.NoError(t, writeFile(d.BlobPath(info.SHA256), "genuine c0ntent"))
			break // damage one copy only
		}
	}
	resp, body = f.do(t, http.MethodGet, "/objects/k", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "genuine content", body)
}

// A method a path does not take is a 405 that names the ones it takes
// (Allow: RFC 9110, section 15.5.6, a MUST). Every path that takes GET
// takes HEAD (section 9.1), with GET's headers and no body.
func TestMethodsAndPaths(t *testing.T) {
	f := newAPI(t)
	resp, body := f.do(t, http.MethodPut, "/objects/k", strings.NewReader("v"))
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	for _, tc := range []struct{ method, path, allow string }{
		{http.MethodPost, "/objects/k", "GET, HEAD, PUT, DELETE"},
		{http.MethodPatch, "/objects/k", "GET, HEAD, PUT, DELETE"},
		{http.MethodPost, "/objects/", "GET, HEAD"},
		{http.MethodPost, "/objects", "GET, HEAD"},
		{http.MethodDelete, "/versions/k", "GET, HEAD"},
		{http.MethodPost, "/health", "GET, HEAD"},
	} {
		resp, _ := f.do(t, tc.method, tc.path, nil)
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, "%s %s", tc.method, tc.path)
		assert.Equal(t, tc.allow, resp.Header.Get("Allow"), "%s %s", tc.method, tc.path)
	}
	for _, path := range []string{"/objects/?prefix=k", "/objects", "/versions/k", "/health"} {
		get, getBody := f.do(t, http.MethodGet, path, nil)
		head, headBody := f.do(t, http.MethodHead, path, nil)
		assert.Equal(t, http.StatusOK, get.StatusCode, "GET %s", path)
		assert.Equal(t, http.StatusOK, head.StatusCode, "HEAD %s", path)
		assert.Equal(t, get.Header.Get("Content-Type"), head.Header.Get("Content-Type"), "HEAD %s", path)
		assert.Equal(t, int64(len(getBody)), head.ContentLength, "HEAD %s", path)
		assert.Empty(t, headBody, "HEAD %s", path)
	}
	resp, _ = f.do(t, http.MethodGet, "/elsewhere", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	for _, q := range []string{"version=x", "version=0", "version="} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			resp, _ = f.do(t, method, "/objects/k?"+q, nil)
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s ?%s", method, q)
		}
	}
}

// /health answers without asking the metadata server, so that a gateway's
// checks see the API server, not the store behind it: here the metadata
// server's address refuses connections, and /health is still 200.
// Requests for objects get 502.
func TestHealth(t *testing.T) {
	gone := deadaddr.URL(t)
	srv := httptest.NewServer(api.New(client.New(client.Options{MetaURL: gone, Log: storetest.Quiet}), 1024, storetest.Quiet))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/health")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ok\n", string(body))

	// The store's own answer, for a request that needs the metadata
	// server, is a 502 that says so (an unreachable upstream), not a 500.
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		req, err := http.NewRequest(method, srv.URL+"/objects/k", strings.NewReader("v"))
		require.NoError(t, err)
		resp, err = http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadGateway, resp.StatusCode, method)
		assert.Contains(t, string(body), "metadata server unreachable", method)
	}
}
