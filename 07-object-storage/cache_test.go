package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// answer is what a test keeps of a response.
type answer struct {
	status int
	header http.Header
	body   string
}

// gatewayClient sends requests to a whole store's gateway with the demo
// key.
type gatewayClient struct {
	t  *testing.T
	gw string
}

func (c gatewayClient) do(method, path string, body []byte, header ...string) answer {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.gw+path, r)
	require.NoError(c.t, err)
	req.Header.Set("X-Api-Key", "demo-key")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// startStore runs the whole store in one process, as `go run` does, and
// returns a client of its gateway.
func startStore(t *testing.T) gatewayClient {
	out := start(t, "-listen", "127.0.0.1:0")
	return gatewayClient{t, gatewayURL.FindStringSubmatch(out)[1]}
}

// Every promise of the store holds through the gateway's cache: whatever
// it kept of a key, a write through the gateway is read back at once, by
// GET and HEAD, of the key and of its versions, with its type; deletes
// and delete markers, listings, conditional and range requests see it
// too. The answers are kept for 4 or 5 s of the wall clock, which this
// test does not control: whether one was kept decides nothing, and no
// check depends on it.
func TestTheGatewaysCacheKeepsTheStoresPromises(t *testing.T) {
	c := startStore(t)
	hit := func(a answer) bool { return strings.Contains(a.header.Get("Cache-Status"), "gateway; hit") }

	require.Equal(t, http.StatusCreated, c.do(http.MethodPut, "/objects/k", []byte("one"), "Content-Type", "text/plain").status)
	for _, path := range []string{"/objects/k", "/objects/k?version=1"} {
		c.do(http.MethodGet, path, nil)
		a := c.do(http.MethodGet, path, nil)
		assert.Equal(t, "one", a.body, path)
		if !hit(a) { // only if the run stalled for seconds: the answers keep for 4 or 5 s
			t.Logf("%s was not kept: %s", path, a.header.Get("Cache-Status"))
		}
	}
	listing := c.do(http.MethodGet, "/objects/?prefix=k", nil)
	require.Equal(t, http.StatusOK, listing.status)

	// A PUT with another type: the key, HEAD and the listing show it;
	// version 1 stays what it was.
	require.Equal(t, http.StatusOK, c.do(http.MethodPut, "/objects/k", []byte(`"two"`), "Content-Type", "application/json").status)
	a := c.do(http.MethodGet, "/objects/k", nil)
	assert.Equal(t, `"two"`, a.body)
	assert.Equal(t, "application/json", a.header.Get("Content-Type"))
	etag := a.header.Get("ETag")
	a = c.do(http.MethodHead, "/objects/k", nil)
	assert.Equal(t, "application/json", a.header.Get("Content-Type"), "HEAD")
	assert.Equal(t, "5", a.header.Get("Content-Length"), "HEAD")
	assert.Equal(t, etag, a.header.Get("ETag"), "HEAD")
	a = c.do(http.MethodGet, "/objects/k?version=1", nil)
	assert.Equal(t, "one", a.body, "version 1")
	assert.Equal(t, "text/plain", a.header.Get("Content-Type"), "version 1")
	a = c.do(http.MethodGet, "/objects/?prefix=k", nil)
	assert.Contains(t, a.body, `"version":2`, "the listing")
	require.Equal(t, http.StatusCreated, c.do(http.MethodPut, "/objects/k2", []byte("new key"), "Content-Type", "text/plain").status)
	a = c.do(http.MethodGet, "/objects/?prefix=k", nil)
	assert.Contains(t, a.body, `"key":"k2"`, "the listing after a PUT of another key")

	// Conditional and range requests, on what the cache holds.
	c.do(http.MethodGet, "/objects/k", nil)
	assert.Equal(t, http.StatusNotModified, c.do(http.MethodGet, "/objects/k", nil, "If-None-Match", etag).status)
	require.Equal(t, http.StatusOK, c.do(http.MethodPut, "/objects/k", []byte("three"), "Content-Type", "text/plain").status)
	a = c.do(http.MethodGet, "/objects/k", nil, "If-None-Match", etag)
	assert.Equal(t, http.StatusOK, a.status, "If-None-Match with the replaced version's ETag")
	assert.Equal(t, "three", a.body)
	a = c.do(http.MethodGet, "/objects/k", nil, "Range", "bytes=1-2")
	assert.Equal(t, http.StatusPartialContent, a.status)
	assert.Equal(t, "hr", a.body)

	// A DELETE of a version is refused, and changes nothing.
	c.do(http.MethodGet, "/objects/k?version=1", nil)
	assert.Equal(t, http.StatusBadRequest, c.do(http.MethodDelete, "/objects/k?version=1", nil).status)
	assert.Equal(t, "one", c.do(http.MethodGet, "/objects/k?version=1", nil).body)
	assert.Equal(t, "three", c.do(http.MethodGet, "/objects/k", nil).body)

	// DELETE adds a delete marker: the key is gone, its versions stay.
	c.do(http.MethodGet, "/objects/k", nil)
	c.do(http.MethodHead, "/objects/k", nil)
	a = c.do(http.MethodDelete, "/objects/k", nil)
	require.Equal(t, http.StatusOK, a.status, a.body)
	assert.Equal(t, http.StatusNotFound, c.do(http.MethodGet, "/objects/k", nil).status, "GET after DELETE")
	assert.Equal(t, http.StatusNotFound, c.do(http.MethodHead, "/objects/k", nil).status, "HEAD after DELETE")
	assert.Equal(t, "three", c.do(http.MethodGet, "/objects/k?version=3", nil).body)
	assert.Equal(t, http.StatusNotFound, c.do(http.MethodGet, "/objects/k?version=4", nil).status, "the delete marker")
	a = c.do(http.MethodGet, "/objects/?prefix=k", nil)
	assert.NotContains(t, a.body, `"key":"k"`, "the listing after DELETE")
	// A PUT after the marker is read back.
	require.Equal(t, http.StatusCreated, c.do(http.MethodPut, "/objects/k", []byte("five"), "Content-Type", "text/plain").status)
	assert.Equal(t, "five", c.do(http.MethodGet, "/objects/k", nil).body)
}

// Spellings of one key are one key to the cache: a write through one is
// read back through the others. A trailing slash makes another key, and
// a write to one leaves the other as it is.
func TestTheGatewaysCacheDropsEverySpellingOfAKey(t *testing.T) {
	c := startStore(t)
	require.Equal(t, http.StatusCreated, c.do(http.MethodPut, "/objects/a/b", []byte("one")).status)
	spellings := []string{"/objects/a/b", "/objects/a%2Fb", "/objects/a%2fb", "/objects/%61/b", "/objects/a/b?version=1"}
	for _, path := range spellings {
		c.do(http.MethodGet, path, nil)
		assert.Equal(t, "one", c.do(http.MethodGet, path, nil).body, path)
	}
	for _, writeAs := range spellings[:4] {
		body := "written as " + writeAs
		require.Equal(t, http.StatusOK, c.do(http.MethodPut, writeAs, []byte(body)).status, writeAs)
		for _, path := range spellings[:4] {
			assert.Equal(t, body, c.do(http.MethodGet, path, nil).body, "GET %s after a PUT to %s", path, writeAs)
			c.do(http.MethodGet, path, nil) // kept, for the next PUT to drop
		}
	}

	require.Equal(t, http.StatusCreated, c.do(http.MethodPut, "/objects/d/", []byte("slash")).status)
	require.Equal(t, http.StatusCreated, c.do(http.MethodPut, "/objects/d", []byte("no slash")).status)
	for range 2 {
		assert.Equal(t, "slash", c.do(http.MethodGet, "/objects/d/", nil).body)
		assert.Equal(t, "no slash", c.do(http.MethodGet, "/objects/d", nil).body)
	}
	require.Equal(t, http.StatusOK, c.do(http.MethodPut, "/objects/d/", []byte("slash 2")).status)
	assert.Equal(t, "slash 2", c.do(http.MethodGet, "/objects/d/", nil).body)
	assert.Equal(t, "no slash", c.do(http.MethodGet, "/objects/d", nil).body)
	require.Equal(t, http.StatusOK, c.do(http.MethodDelete, "/objects/d", nil).status)
	assert.Equal(t, http.StatusNotFound, c.do(http.MethodGet, "/objects/d", nil).status)
	assert.Equal(t, "slash 2", c.do(http.MethodGet, "/objects/d/", nil).body)
}

// An object larger than the cache's entry limit (1 MiB) is streamed
// through whole, every time, and never kept.
func TestTheGatewaysCacheStreamsALargeObject(t *testing.T) {
	c := startStore(t)
	large := bytes.Repeat([]byte("0123456789abcdef"), (1<<20+1<<19)/16)
	require.Equal(t, http.StatusCreated, c.do(http.MethodPut, "/objects/large", large).status)
	for range 2 {
		a := c.do(http.MethodGet, "/objects/large", nil)
		assert.Equal(t, http.StatusOK, a.status)
		assert.True(t, a.body == string(large), "the large object came back changed (%d bytes)", len(a.body))
		assert.Equal(t, "gateway; fwd=uri-miss", a.header.Get("Cache-Status"))
	}
	require.Equal(t, http.StatusOK, c.do(http.MethodPut, "/objects/large", large[1:]).status)
	assert.Len(t, c.do(http.MethodGet, "/objects/large", nil).body, len(large)-1)
}
