package client_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// noSpool is a client whose TempDir does not exist: any spooling fails.
func noSpool(t *testing.T, cl cluster) *client.Client {
	return cl.client(client.Options{TempDir: filepath.Join(t.TempDir(), "missing")})
}

// With the hash given first, a large object goes to the data servers
// as it is read: no temporary file, and readable with its chunk list.
func TestPutStreamDoesNotSpool(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{})
	c := noSpool(t, cl)
	data := large(10)
	_, err := c.Put(ctx, "spooled", bytes.NewReader(data))
	require.Error(t, err, "Put spools a large object (the check below would prove nothing)")

	v, err := c.PutStream(ctx, "big", bytes.NewReader(data), int64(len(data)), blob.Sum(data), client.PutOptions{})
	require.NoError(t, err)
	assert.Len(t, v.Replicas, 2)
	for _, addr := range v.Replicas {
		assert.True(t, cl.Node(addr).Intact(v.Hash), "replica %s", addr)
	}
	chunks, err := cl.Namespace().Chunks(v.Hash)
	require.NoError(t, err)
	assert.Equal(t, chunksOf(data), chunks)
	assert.Equal(t, data, read(t, c, "big", 0))
}

// A body that does not hash to the given hash, or is shorter or longer
// than the given size, is refused, and no server keeps anything.
func TestPutStreamChecksHashAndSize(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{})
	c := noSpool(t, cl)
	data := large(11)
	n := int64(len(data))
	for name, tc := range map[string]struct {
		size int64
		want blob.Hash
		err  error
	}{
		"wrong hash":   {n, blob.Sum([]byte("something else")), blob.ErrDigestMismatch},
		"body shorter": {n + 10, blob.Sum(data), io.ErrUnexpectedEOF},
		"body longer":  {n - 10, blob.Sum(data[:n-10]), client.ErrBadRequest},
	} {
		_, err := c.PutStream(ctx, "k", bytes.NewReader(data), tc.size, tc.want, client.PutOptions{})
		assert.ErrorIs(t, err, tc.err, name)
		for _, d := range cl.Data {
			assert.False(t, d.Has(tc.want), "%s: a data server kept the blob", name)
			assert.False(t, d.Has(blob.Sum(data)), "%s: a data server kept the content", name)
		}
	}
	_, err := c.Stat(ctx, "k", 0)
	assert.ErrorIs(t, err, meta.ErrNotFound, "a refused stream was committed")
}

// A data server that fails cannot be replaced mid-stream: the write
// stands with W copies, and fails clearly without them.
func TestPutStreamWithAServerDown(t *testing.T) {
	for name, quorum := range map[string]int{"W=2 fails": 2, "W=1 stands": 1} {
		t.Run(name, func(t *testing.T) {
			cl := newCluster(t, 2, meta.Options{Replicas: 2, Quorum: quorum})
			c := noSpool(t, cl)
			cl.Data[1].HTTP.Close()
			data := large(12)
			v, err := c.PutStream(ctx, "k", bytes.NewReader(data), int64(len(data)), blob.Sum(data), client.PutOptions{})
			if quorum == 2 {
				assert.ErrorIs(t, err, meta.ErrTooFewReplicas)
				_, err = c.Stat(context.Background(), "k", 0)
				assert.ErrorIs(t, err, meta.ErrNotFound, "committed without quorum")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, []string{cl.Data[0].URL()}, v.Replicas)
			assert.Equal(t, data, read(t, c, "k", 0))
		})
	}
}

// Content the servers hold already is not sent again, but the body is
// still read and checked: a caller cannot claim a blob by its hash alone.
func TestPutStreamDedupChecksTheBody(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{})
	c := noSpool(t, cl)
	data := large(13)
	hash, n := blob.Sum(data), int64(len(data))
	_, err := c.PutStream(ctx, "a", bytes.NewReader(data), n, hash, client.PutOptions{})
	require.NoError(t, err)
	puts := cl.Puts()

	_, err = c.PutStream(ctx, "b", bytes.NewReader(data), n, hash, client.PutOptions{})
	require.NoError(t, err)
	assert.Equal(t, puts, cl.Puts(), "identical content uploaded again")
	assert.Equal(t, data, read(t, c, "b", 0))

	other := large(14)
	_, err = c.PutStream(ctx, "c", bytes.NewReader(other), n, hash, client.PutOptions{})
	assert.ErrorIs(t, err, blob.ErrDigestMismatch)
	_, err = c.Stat(ctx, "c", 0)
	assert.ErrorIs(t, err, meta.ErrNotFound, "a hash without its content was committed")
}

// An object up to MemoryLimit is held in memory and stored as Put does;
// its size is checked too. An empty one is an object like any other.
func TestPutStreamSmall(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{})
	c := noSpool(t, cl)
	data := []byte("small and known")
	_, err := c.PutStream(ctx, "k", bytes.NewReader(data), int64(len(data))+1, blob.Sum(data), client.PutOptions{})
	assert.ErrorIs(t, err, client.ErrBadRequest, "shorter than said")
	_, err = c.PutStream(ctx, "k", bytes.NewReader(data), int64(len(data))-1, blob.Sum(data[:len(data)-1]), client.PutOptions{})
	assert.ErrorIs(t, err, client.ErrBadRequest, "longer than said")
	_, err = c.Stat(ctx, "k", 0)
	assert.ErrorIs(t, err, meta.ErrNotFound)
	_, err = c.PutStream(ctx, "empty", bytes.NewReader([]byte("x")), 0, blob.Sum(nil), client.PutOptions{})
	assert.ErrorIs(t, err, client.ErrBadRequest, "an empty object that is not")
	v, err := c.PutStream(ctx, "empty", bytes.NewReader(nil), 0, blob.Sum(nil), client.PutOptions{})
	require.NoError(t, err, "an empty object is an object")
	assert.Zero(t, v.Size)
	assert.Empty(t, read(t, c, "empty", 0))
	_, err = c.PutStream(ctx, "k", bytes.NewReader(data), int64(len(data)), blob.Sum(data), client.PutOptions{})
	require.NoError(t, err)
	assert.Equal(t, data, read(t, c, "k", 0))
}

// An object of exactly MemoryLimit bytes is still held in memory, and
// its hash checked before any data server sees it: a wrong one reaches
// none.
func TestPutStreamOfMemoryLimitIsHeld(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{})
	c := cl.client(client.Options{MemoryLimit: 16})
	data := []byte("sixteen bytes!!!")
	require.Len(t, data, 16)
	_, err := c.PutStream(ctx, "k", bytes.NewReader(data), 16, blob.Sum([]byte("another sixteen!")), client.PutOptions{})
	assert.ErrorIs(t, err, blob.ErrDigestMismatch)
	assert.Zero(t, cl.Puts(), "a blob of MemoryLimit bytes was streamed to the data servers")
}

// A hash that is not one is refused before the body is read, and
// before the metadata server is asked for a placement.
func TestPutStreamRefusesABadHash(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{})
	c := noSpool(t, cl)
	data := large(17)
	body := bytes.NewReader(data)
	_, err := c.PutStream(ctx, "k", body, int64(len(data)), blob.Hash(strings.ToUpper(string(blob.Sum(data)))), client.PutOptions{})
	assert.ErrorIs(t, err, blob.ErrBadHash)
	assert.EqualValues(t, len(data), body.Len(), "the body was read")
}

// A streamed object of exactly one chunk gets no chunk list, as a
// spooled one gets none: its one chunk's hash would be the blob's.
func TestPutStreamOfOneChunkHasNoList(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{})
	c := cl.client(client.Options{MemoryLimit: 16}) // so that it streams
	data := large(15)[:blob.ChunkSize]
	v, err := c.PutStream(ctx, "k", bytes.NewReader(data), blob.ChunkSize, blob.Sum(data), client.PutOptions{})
	require.NoError(t, err)
	_, err = cl.Namespace().Chunks(v.Hash)
	assert.ErrorIs(t, err, meta.ErrNotFound, "a list for a blob of one chunk")
	assert.Equal(t, data, read(t, c, "k", 0))
}

// endless yields chunks of bytes, up to limit in all, and cancels its
// context on its second Read: a caller who gives up while the body is
// still coming.
type endless struct {
	cancel context.CancelFunc
	reads  int
	read   int64
	limit  int64
}

func (e *endless) Read(p []byte) (int, error) {
	e.reads++
	if e.reads == 2 {
		e.cancel()
	}
	if e.read >= e.limit {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), 64<<10, e.limit-e.read))
	clear(p[:n])
	e.read += int64(n)
	return n, nil
}

// A Put, like a PutStream, stops reading its body once its context is
// done, rather than spool the rest of it to disk for nothing.
func TestPutStopsReadingWhenCancelled(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{})
	c := cl.client(client.Options{})
	const limit = 16 << 20
	for name, put := range map[string]func(context.Context, io.Reader) error{
		"Put": func(ctx context.Context, r io.Reader) error {
			_, err := c.Put(ctx, "k", r)
			return err
		},
		"PutStream": func(ctx context.Context, r io.Reader) error {
			_, err := c.PutStream(ctx, "k", r, limit, blob.Sum(make([]byte, limit)), client.PutOptions{})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			body := &endless{cancel: cancel, limit: limit}
			err := put(ctx, body)
			assert.ErrorIs(t, err, context.Canceled)
			assert.Less(t, body.read, int64(limit), "the body was read to its end after the caller gave up")
			_, err = c.Stat(context.Background(), "k", 0)
			assert.ErrorIs(t, err, meta.ErrNotFound, "a cancelled write was committed")
			for _, d := range cl.Data {
				assert.False(t, d.Has(blob.Sum(make([]byte, limit))), "a data server kept a cancelled write")
			}
		})
	}
}

// cancelAtEOF is r that cancels its context when r ends: a caller who
// gives up as the last of the body goes.
type cancelAtEOF struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c cancelAtEOF) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF {
		c.cancel()
	}
	return n, err
}

// A caller who gives up once the whole body is read still gets its own
// error, not meta.ErrTooFewReplicas: the uploads fail because it gave
// up, and that would blame the store.
func TestPutStreamCancelledAtTheEndIsNotTooFewReplicas(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{})
	c := noSpool(t, cl)
	data := large(16)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := c.PutStream(ctx, "k", cancelAtEOF{bytes.NewReader(data), cancel}, int64(len(data)), blob.Sum(data), client.PutOptions{})
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, meta.ErrTooFewReplicas, "a caller who gave up was told the store failed")
}
