package client_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// metaHook is a RoundTripper that counts the client's placements and
// commits, and runs beforeCommit just before the nth POST /commits goes
// out and afterCommit once its answer is in (n counts from 1). Put calls
// the metadata server from its caller's goroutine, so the hooks run
// there, between the uploads and the commit: no sleep decides when. With
// loseAnswers, every commit is sent but its answer is lost on the way
// back, as when the connection drops.
type metaHook struct {
	base                      http.RoundTripper
	writes, commits           atomic.Int32
	beforeCommit, afterCommit func(n int)
	beforePull                func() // before each POST /pull to a data server
	loseAnswers               bool
}

func (h *metaHook) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPost {
		return h.base.RoundTrip(r)
	}
	switch r.URL.Path {
	case "/writes":
		h.writes.Add(1)
	case "/commits":
		n := int(h.commits.Add(1))
		if h.beforeCommit != nil {
			h.beforeCommit(n)
		}
		resp, err := h.base.RoundTrip(r)
		if h.afterCommit != nil {
			h.afterCommit(n)
		}
		if h.loseAnswers && err == nil {
			resp.Body.Close()
			return nil, errors.New("connection reset (by the test)")
		}
		return resp, err
	case "/pull":
		if h.beforePull != nil {
			h.beforePull()
		}
	}
	return h.base.RoundTrip(r)
}

// killHolder kills the first data server that is up and holds blob h,
// as a rolling restart (or kill -9) takes a server down between the
// upload and the commit.
func (c cluster) killHolder(h blob.Hash) {
	for i, d := range c.Data {
		if !d.Down && d.Has(h) {
			c.Kill(i)
			return
		}
	}
	c.t.Fatalf("no data server that is up holds %s", h.Short())
}

// liveURLs are the addresses of the data servers that are up.
func (c cluster) liveURLs() []string {
	var up []string
	for _, d := range c.Data {
		if !d.Down {
			up = append(up, d.URL())
		}
	}
	return up
}

// A data server that took its copy and went down before the commit
// (stopped in a rolling restart, or killed) makes the metadata server
// refuse the commit: one copy answers, two are needed. Put still holds
// the object in its spool, so it places it again, uploads to a server
// that is up, and commits once: one version, on the two live servers.
func TestPutRetriesACommitRefusedForAGoneCopy(t *testing.T) {
	for _, tc := range []struct {
		name        string
		memoryLimit int64
	}{
		{"spooled in memory", 0},
		{"spooled to a file", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := newCluster(t, 3, meta.Options{Replicas: 2, Quorum: 2})
			data := []byte("a copy of this goes away before the commit")
			h := blob.Sum(data)
			hook := &metaHook{base: client.NewTransport()}
			hook.beforeCommit = func(n int) {
				if n == 1 {
					cl.killHolder(h)
				}
			}
			c := cl.client(client.Options{HTTP: &http.Client{Transport: hook}, MemoryLimit: tc.memoryLimit})

			v, err := c.Put(ctx, "k", bytes.NewReader(data))
			require.NoError(t, err, "a write with a server free failed because a copy went away before the commit")
			assert.Equal(t, int32(2), hook.writes.Load(), "placements")
			assert.Equal(t, int32(2), hook.commits.Load(), "commits")
			assert.ElementsMatch(t, cl.liveURLs(), v.Replicas, "the version's copies are not the live servers")
			for _, addr := range cl.liveURLs() {
				assert.True(t, cl.Node(addr).Intact(h), "no intact copy on %s", addr)
			}
			versions, err := c.Versions(ctx, "k")
			require.NoError(t, err)
			var numbers []uint64
			for _, w := range versions {
				numbers = append(numbers, w.Number)
			}
			if diff := cmp.Diff([]uint64{v.Number}, numbers); diff != "" {
				t.Errorf("versions of the key (-want +got):\n%s", diff)
			}
			assert.Equal(t, data, read(t, c, "k", 0))
		})
	}
}

// The retry is bounded: a write that loses a copy before each commit
// fails after its second commit, with meta.ErrTooFewReplicas, and
// commits nothing.
func TestPutRetriesARefusedCommitOnce(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{Replicas: 2, Quorum: 2})
	data := []byte("a copy of this goes away before every commit")
	h := blob.Sum(data)
	hook := &metaHook{base: client.NewTransport()}
	hook.beforeCommit = func(int) { cl.killHolder(h) }
	c := cl.client(client.Options{HTTP: &http.Client{Transport: hook}})

	_, err := c.Put(ctx, "k", bytes.NewReader(data))
	assert.ErrorIs(t, err, meta.ErrTooFewReplicas)
	assert.Equal(t, int32(2), hook.writes.Load(), "placements")
	assert.Equal(t, int32(2), hook.commits.Load(), "commits")
	_, err = c.Stat(ctx, "k", 0)
	assert.ErrorIs(t, err, meta.ErrNotFound, "a write without quorum was committed")
}

// A caller who gave up gets no second try: the refused commit is its
// answer.
func TestPutDoesNotRetryForACallerWhoGaveUp(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{Replicas: 2, Quorum: 2})
	data := []byte("the caller gives up while the commit is refused")
	h := blob.Sum(data)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hook := &metaHook{base: client.NewTransport()}
	hook.beforeCommit = func(int) { cl.killHolder(h) }
	hook.afterCommit = func(int) { cancel() }
	c := cl.client(client.Options{HTTP: &http.Client{Transport: hook}})

	_, err := c.Put(ctx, "k", bytes.NewReader(data))
	assert.ErrorIs(t, err, meta.ErrTooFewReplicas, "the store's refusal")
	assert.Equal(t, int32(1), hook.writes.Load(), "placements")
	assert.Equal(t, int32(1), hook.commits.Load(), "commits")
}

// PutStream cannot send its body again, but the copy that answers has
// it: on the refusal it places the blob again and has a server that is
// up copy it from that copy (a data server's POST /pull), then commits
// once more: one version, intact on the two live servers. Bounded as
// Put's retry: a copy lost before every commit fails after the second.
func TestPutStreamCopiesAgainACopyGoneBeforeItsCommit(t *testing.T) {
	for _, tc := range []struct {
		name          string
		killEveryTime bool
	}{{"once", false}, {"every time", true}} {
		t.Run(tc.name, func(t *testing.T) {
			cl := newCluster(t, 4, meta.Options{Replicas: 2, Quorum: 2})
			data := []byte(strings.Repeat("streamed, not spooled; ", 10))
			h := blob.Sum(data)
			hook := &metaHook{base: client.NewTransport()}
			hook.beforeCommit = func(n int) {
				if n == 1 || tc.killEveryTime {
					cl.killHolder(h)
				}
			}
			c := cl.client(client.Options{HTTP: &http.Client{Transport: hook}, MemoryLimit: 4})

			v, err := c.PutStream(ctx, "k", bytes.NewReader(data), int64(len(data)), h, client.PutOptions{})
			assert.Equal(t, int32(2), hook.writes.Load(), "placements")
			assert.Equal(t, int32(2), hook.commits.Load(), "commits")
			if tc.killEveryTime {
				assert.ErrorIs(t, err, meta.ErrTooFewReplicas)
				assert.ErrorContains(t, err, "1 of the replicas", "the error does not say how many copies answered")
				_, err = c.Stat(ctx, "k", 0)
				assert.ErrorIs(t, err, meta.ErrNotFound, "a write without quorum was committed")
				return
			}
			require.NoError(t, err, "a streamed write with servers free failed because a copy went away before the commit")
			require.Len(t, v.Replicas, 2)
			for _, addr := range v.Replicas {
				assert.True(t, cl.Node(addr).Intact(h), "no intact copy on %s", addr)
				assert.Contains(t, cl.liveURLs(), addr, "a copy on a server that is down")
			}
			versions, err := c.Versions(ctx, "k")
			require.NoError(t, err)
			assert.Len(t, versions, 1)
			assert.Equal(t, data, read(t, c, "k", 0))
		})
	}
}

// Only a commit refused for a copy that went away is retried. Uploads
// that could not make W copies are not: the placement's servers were all
// tried already.
func TestPutDoesNotRetryUploadsThatFailed(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{Replicas: 2, Quorum: 2})
	hook := &metaHook{base: client.NewTransport()}
	c := cl.client(client.Options{HTTP: &http.Client{Transport: hook}})
	cl.Kill(1)

	_, err := c.Put(ctx, "k", strings.NewReader("data"))
	assert.ErrorIs(t, err, meta.ErrTooFewReplicas)
	assert.Equal(t, int32(1), hook.writes.Load(), "placements")
	assert.Equal(t, int32(0), hook.commits.Load(), "commits")
}

// Nor is a commit whose answer was lost: the metadata server may have
// recorded it, and a second commit would make a second version.
func TestPutDoesNotRetryACommitWithoutAnAnswer(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{Replicas: 2, Quorum: 2})
	hook := &metaHook{base: client.NewTransport(), loseAnswers: true}
	c := cl.client(client.Options{HTTP: &http.Client{Transport: hook}})

	_, err := c.Put(ctx, "k", strings.NewReader("data"))
	assert.ErrorIs(t, err, client.ErrMetaUnreachable)
	assert.Equal(t, int32(1), hook.writes.Load(), "placements")
	assert.Equal(t, int32(1), hook.commits.Load(), "commits")
	versions, err := cl.client(client.Options{}).Versions(ctx, "k")
	require.NoError(t, err)
	assert.Len(t, versions, 1, "the commit whose answer was lost")
}

// A caller who gives up while PutStream's retry has data servers copy
// the blob is told so, as Put tells it, not meta.ErrTooFewReplicas,
// which would blame the store: the copies failed because of it.
func TestPutStreamRetryForACallerWhoGaveUpIsNotTooFewReplicas(t *testing.T) {
	cl := newCluster(t, 4, meta.Options{Replicas: 2, Quorum: 2})
	data := []byte(strings.Repeat("streamed, not spooled; ", 10))
	h := blob.Sum(data)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hook := &metaHook{base: client.NewTransport(), beforePull: cancel}
	hook.beforeCommit = func(int) { cl.killHolder(h) }
	c := cl.client(client.Options{HTTP: &http.Client{Transport: hook}, MemoryLimit: 4})

	_, err := c.PutStream(ctx, "k", bytes.NewReader(data), int64(len(data)), h, client.PutOptions{})
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, meta.ErrTooFewReplicas, "a caller who gave up was told the store failed")
	assert.Equal(t, int32(1), hook.commits.Load(), "commits")
}
