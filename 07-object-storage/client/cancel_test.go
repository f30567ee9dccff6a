package client_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// cancelOn is an HTTP client whose requests to a data server (path
// /blobs/...) with the given method cancel ctx as they leave, as a
// caller who gives up at that moment does, and counts them.
func cancelOn(method string, cancel context.CancelFunc, n *atomic.Int32) *http.Client {
	transport := client.NewTransport()
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == method && strings.HasPrefix(r.URL.Path, "/blobs/") {
			n.Add(1)
			cancel()
		}
		return transport.RoundTrip(r)
	})}
}

// A Put whose caller gives up during the uploads fails with the caller's
// error, not with meta.ErrTooFewReplicas: the store did not refuse the
// write, and an API server would answer 503 and log a failure for a
// client that has gone. Nor does it go on to upload to the next server.
func TestACancelledPutIsNotTooFewReplicas(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{}) // R = W = 2: a third server to fall back to
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var puts atomic.Int32
	c := cl.client(client.Options{HTTP: cancelOn(http.MethodPut, cancel, &puts)})

	_, err := c.Put(wctx, "k", strings.NewReader("given up on"))
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, meta.ErrTooFewReplicas, "the caller gave up; the store did not refuse")
	assert.LessOrEqual(t, puts.Load(), int32(2), "uploads went on after the caller gave up")
}

// A Get whose caller gives up while a replica is being read fails with
// the caller's error, not with client.ErrNoReplica: no replica failed,
// and an API server would answer 502 and log a failure for a client that
// has gone. Whole or streamed.
func TestACancelledGetIsNotErrNoReplica(t *testing.T) {
	for name, data := range map[string][]byte{"whole": []byte("given up on"), "streamed": large(5)} {
		t.Run(name, func(t *testing.T) {
			cl := newCluster(t, 3, meta.Options{})
			_, err := cl.client(client.Options{}).Put(ctx, "k", bytes.NewReader(data))
			require.NoError(t, err)

			rctx, cancel := context.WithCancel(ctx)
			defer cancel()
			var gets atomic.Int32
			c := cl.client(client.Options{HTTP: cancelOn(http.MethodGet, cancel, &gets)})
			o, err := c.Get(rctx, "k", 0)
			if o != nil {
				o.Close()
			}
			assert.ErrorIs(t, err, context.Canceled)
			assert.NotErrorIs(t, err, client.ErrNoReplica, "the caller gave up; the replicas did not fail")
		})
	}
}

// A Get whose caller gives up while the chunk list of a large object is
// being fetched fails with the caller's error, and logs nothing: a
// warning "no chunk list" would be a store failure in an API server's
// log for a client that hung up.
func TestACancelledChunkListLogsNothing(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	_, err := cl.client(client.Options{}).Put(ctx, "k", bytes.NewReader(large(3)))
	require.NoError(t, err)

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	transport := client.NewTransport()
	var logs bytes.Buffer
	c := client.New(client.Options{
		MetaURL: cl.MetaURL, Now: cl.Clock.Now, TempDir: t.TempDir(),
		Log: slog.New(slog.NewTextHandler(&logs, nil)), // written by Get's goroutine only, read after it
		HTTP: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if strings.HasPrefix(r.URL.Path, "/chunks/") {
				cancel()
			}
			return transport.RoundTrip(r)
		})},
	})
	o, err := c.Get(rctx, "k", 0)
	if o != nil {
		o.Close()
	}
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, client.ErrNoReplica)
	assert.Empty(t, logs.String(), "a caller who gave up is not the store's failure")
}

// An object whose every copy is lost (each data server answers 404) is
// not "not found": the metadata server has it, and the caller must be
// able to tell that from a key that does not exist. A data server's 404
// says it has no copy, which the read reports; it is not meta.ErrNotFound.
// (An API server answered 404 and the command-line tool "no such object"
// for a listed object whose data was lost.) Whole or streamed.
func TestACopyLostEverywhereIsNotErrNotFound(t *testing.T) {
	for name, data := range map[string][]byte{"whole": []byte("lost everywhere"), "streamed": large(7)} {
		t.Run(name, func(t *testing.T) {
			cl := newCluster(t, 2, meta.Options{})
			c := cl.client(client.Options{})
			v, err := c.Put(ctx, "k", bytes.NewReader(data))
			require.NoError(t, err)
			for _, addr := range v.Replicas {
				require.NoError(t, os.Remove(cl.Node(addr).BlobPath(v.Hash)))
			}
			o, err := c.Get(ctx, "k", 0)
			assert.Nil(t, o)
			assert.ErrorIs(t, err, client.ErrNoReplica)
			assert.NotErrorIs(t, err, meta.ErrNotFound, "the object exists; its copies are lost")
		})
	}
}

// A streamed object whose Get's ctx is done fetches no further chunk,
// even when the data server's answer is already on this side (here the
// transport has read it all): the caller gave up. The bytes would be
// verified, but whoever reads on may no longer be the caller.
// (TestACancelledReadLeavesNothingBehind failed about once in 15 runs
// for this: the rest of the blob was in the socket's buffers.)
func TestACancelledStreamFetchesNoMoreChunks(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	data := large(8)
	_, err := cl.client(client.Options{}).Put(ctx, "k", bytes.NewReader(data))
	require.NoError(t, err)
	transport := client.NewTransport()
	buffered := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := transport.RoundTrip(r)
		if err != nil || r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/blobs/") {
			return resp, err
		}
		all, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(all))
		return resp, err
	})
	c := cl.client(client.Options{HTTP: &http.Client{Transport: buffered}})

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	o, err := c.Get(rctx, "k", 0)
	require.NoError(t, err)
	defer o.Close()
	first := make([]byte, blob.ChunkSize)
	_, err = io.ReadFull(o, first)
	require.NoError(t, err)
	cancel()
	n, err := o.Read(make([]byte, 10))
	assert.Zero(t, n, "a chunk was fetched after the caller gave up")
	assert.ErrorIs(t, err, context.Canceled)
}
