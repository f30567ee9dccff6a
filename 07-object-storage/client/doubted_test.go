package client_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// A copy the client found bad and reported stays on record until the
// metadata server's check is done, after the report's answer: the
// lookups a reader makes meanwhile list it, and the client caches them.
// The client tries that copy last, not first, for its next reads of the
// blob, so each of them does not fetch the bad copy again (a whole blob
// for nothing) and report it again. Tried last, not left out: if every
// other copy fails, the doubted one is still read (here it was rewritten
// meanwhile), as every read is verified.
func TestACopyReportedBadIsTriedLast(t *testing.T) {
	// The metadata server's check of the report waits until the end.
	release := make(chan struct{})
	var once sync.Once
	base := client.NewTransport()
	metaHTTP := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.HasSuffix(r.URL.Path, "/verify") {
			<-release
		}
		return base.RoundTrip(r)
	})}
	cl := newCluster(t, 2, meta.Options{Client: metaHTTP})
	// Registered after the cluster's, so run before them: a test that
	// stops early releases the check its cluster's cleanup waits for.
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	data := []byte("read three times, rotten on one disk")
	v, err := cl.client(client.Options{}).Put(ctx, "k", bytes.NewReader(data))
	require.NoError(t, err)
	bad := v.Replicas[0] // the copy a read tries first
	good := v.Replicas[1]
	cl.Node(bad).Corrupt(t, v.Hash)

	var fetched atomic.Int32
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.HasPrefix(r.URL.String(), bad+"/blobs/") {
			switch r.Method {
			case http.MethodGet:
				fetched.Add(1)
			case http.MethodPut: // no read repair rewrites the bad copy
				return nil, io.ErrUnexpectedEOF
			}
		}
		return base.RoundTrip(r)
	})
	c := cl.client(client.Options{HTTP: &http.Client{Transport: rt}, DataCacheBytes: -1})
	read := func() []byte {
		t.Helper()
		o, err := c.Get(ctx, "k", 0)
		require.NoError(t, err)
		defer o.Close()
		b, err := io.ReadAll(o)
		require.NoError(t, err)
		return b
	}
	for range 3 {
		assert.Equal(t, data, read())
	}
	still, err := c.Stat(ctx, "k", 0)
	require.NoError(t, err)
	require.Equal(t, bad, still.Replicas[0], "the check is under way: the copy is still listed first")
	assert.Equal(t, int32(1), fetched.Load(), "the copy reported bad was fetched again")

	// The bad copy is rewritten, and the good one's server stops: the
	// copy tried last serves the read.
	good0, err := os.ReadFile(cl.Node(good).BlobPath(v.Hash))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cl.Node(bad).BlobPath(v.Hash), good0, 0o644))
	for i, d := range cl.Data {
		if d == cl.Node(good) {
			cl.Kill(i)
		}
	}
	assert.Equal(t, data, read())
	assert.Equal(t, int32(2), fetched.Load())

	once.Do(func() { close(release) })
	cl.Meta().WaitReports()
}
