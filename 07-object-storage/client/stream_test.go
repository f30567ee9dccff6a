package client_test

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// large is 3.5 chunks of seeded random bytes: a blob above MemoryLimit,
// streamed on reading, with a short last chunk.
func large(seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed))
	data := make([]byte, 3*blob.ChunkSize+blob.ChunkSize/2)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	return data
}

func chunksOf(data []byte) blob.Chunks {
	h := blob.NewChunkHasher()
	h.Write(data)
	return h.Chunks()
}

// Put records the blob's chunk list; Get streams it with one Range
// request, from the start.
func TestLargeObjectsAreStreamed(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{})
	c := cl.client(client.Options{})
	data := large(1)
	v, err := c.Put(ctx, "big", bytes.NewReader(data))
	require.NoError(t, err)
	got, err := cl.Namespace().Chunks(v.Hash)
	require.NoError(t, err)
	assert.Equal(t, chunksOf(data), got)

	assert.Equal(t, data, read(t, c, "big", 0))
	var ranges []string
	for _, d := range cl.Data {
		ranges = append(ranges, d.Ranges()...)
	}
	assert.Equal(t, []string{"bytes=0-"}, ranges, "one streamed request")

	small, err := c.Put(ctx, "small", bytes.NewReader(data[:blob.ChunkSize]))
	require.NoError(t, err)
	_, err = cl.Namespace().Chunks(small.Hash)
	assert.ErrorIs(t, err, meta.ErrNotFound, "one chunk's list would repeat the blob's hash")
}

// A blob with a chunk list but no larger than MemoryLimit is read whole
// into memory, as any blob up to it is, and kept in the data cache: a
// second read asks no data server.
func TestABlobOfMemoryLimitIsNotStreamed(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	c := cl.client(client.Options{MemoryLimit: 2 * blob.ChunkSize})
	data := large(2)[:2*blob.ChunkSize]
	v, err := c.Put(ctx, "k", bytes.NewReader(data))
	require.NoError(t, err)
	_, err = cl.Namespace().Chunks(v.Hash)
	require.NoError(t, err, "the blob has a chunk list")
	assert.Equal(t, blob.Sum(data), blob.Sum(read(t, c, "k", 0)))
	before := cl.Gets()
	assert.Equal(t, blob.Sum(data), blob.Sum(read(t, c, "k", 0)))
	assert.Equal(t, before, cl.Gets(), "a blob of MemoryLimit bytes was streamed, not read into memory")
}

// A chunk that does not match on one replica is fetched from the next,
// from that chunk on; the bad replica is reported and forgotten.
func TestStreamSkipsABadChunk(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{})
	c := cl.client(client.Options{})
	data := large(2)
	_, err := c.Put(ctx, "big", bytes.NewReader(data))
	require.NoError(t, err)
	v, err := c.Stat(ctx, "big", 0)
	require.NoError(t, err)
	bad, good := cl.Node(v.Replicas[0]), cl.Node(v.Replicas[1])
	bad.Corrupt(t, v.Hash) // a byte in the middle: chunk 1

	assert.Equal(t, data, read(t, c, "big", 0))
	assert.Equal(t, []string{"bytes=0-"}, bad.Ranges())
	assert.Equal(t, []string{"bytes=" + strconv.Itoa(blob.ChunkSize) + "-"}, good.Ranges(),
		"the good replica picks up at the bad chunk")
	cl.Meta().WaitReports() // the report is checked after its answer
	after, err := c.Stat(ctx, "big", 0)
	require.NoError(t, err)
	assert.NotContains(t, after.Replicas, bad.URL(), "the bad replica was not reported")
}

// When no replica can serve a chunk, reading stops with an error there:
// every byte handed out before it was checked, and none after.
func TestStreamNeverHandsOutABadChunk(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	c := cl.client(client.Options{})
	data := large(3)
	v, err := c.Put(ctx, "big", bytes.NewReader(data))
	require.NoError(t, err)
	for _, r := range v.Replicas {
		cl.Node(r).Corrupt(t, v.Hash) // both in chunk 1
	}
	o, err := c.Get(ctx, "big", 0)
	require.NoError(t, err, "chunk 0 is intact everywhere")
	defer o.Close()
	got, err := io.ReadAll(o)
	assert.ErrorIs(t, err, client.ErrNoReplica)
	assert.ErrorIs(t, err, client.ErrCorrupt)
	assert.Equal(t, data[:blob.ChunkSize], got, "exactly the chunks before the bad one")

	// Every copy disagreeing with the list on one chunk is what a wrong
	// list looks like too: each copy was read whole and checked against
	// the blob's name, which proved the copies bad, not the list.
	_, err = cl.Namespace().Chunks(v.Hash)
	assert.NoError(t, err, "a good list was dropped")
	cl.Meta().WaitReports() // the reports are checked after their answers
	after, err := c.Stat(ctx, "big", 0)
	require.NoError(t, err)
	assert.Empty(t, after.Replicas, "both copies are bad, and were proven so")
}

// A wrong chunk list (a writer's bug) costs speed, not copies: a Get
// that finds no replica matching its first chunk reads the blob whole,
// checks it against its name, and drops the list.
func TestWrongChunkListIsDropped(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	c := cl.client(client.Options{})
	data := large(7)
	v, err := c.Put(ctx, "good", bytes.NewReader(data))
	require.NoError(t, err)
	wrong := chunksOf(data)
	wrong.Hashes[0] = blob.Sum([]byte("not chunk 0"))
	require.NoError(t, cl.Namespace().DropChunks(v.Hash))
	_, err = cl.Namespace().Commit(meta.CommitRequest{Key: "wrong-list", Hash: v.Hash, Size: v.Size, Chunks: &wrong}, cl.Clock.Now())
	require.NoError(t, err)

	assert.Equal(t, data, read(t, c, "good", 0))
	_, err = cl.Namespace().Chunks(v.Hash)
	assert.ErrorIs(t, err, meta.ErrNotFound, "the wrong list was kept")
	after, err := c.Stat(ctx, "good", 0)
	require.NoError(t, err)
	assert.Len(t, after.Replicas, 2, "a good copy was reported over a wrong list")
}

// A read from the middle asks for the blob from that chunk on.
func TestStreamSeeksToItsChunk(t *testing.T) {
	cl := newCluster(t, 1, meta.Options{Replicas: 1})
	c := cl.client(client.Options{})
	data := large(4)
	_, err := c.Put(ctx, "big", bytes.NewReader(data))
	require.NoError(t, err)
	o, err := c.Get(ctx, "big", 0)
	require.NoError(t, err)
	defer o.Close()
	off := int64(2*blob.ChunkSize + 1000)
	_, err = o.Seek(off, io.SeekStart)
	require.NoError(t, err)
	got := make([]byte, 100)
	_, err = io.ReadFull(o, got)
	require.NoError(t, err)
	assert.Equal(t, data[off:off+100], got)
	assert.Equal(t, []string{"bytes=0-", "bytes=" + strconv.Itoa(2*blob.ChunkSize) + "-"}, cl.Data[0].Ranges(),
		"Get checks chunk 0 before it returns; the seek starts a request at chunk 2")

	end, err := o.Seek(0, io.SeekEnd)
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), end)
	n, err := o.Read(got)
	assert.Zero(t, n)
	assert.Equal(t, io.EOF, err)
}

// GetFrom checks the chunk holding its offset, not chunk 0: a read from
// there costs one request from that chunk on. A negative offset counts
// from the end; one outside the object means its nearest chunk.
func TestGetFromChecksTheChunkItStartsAt(t *testing.T) {
	cl := newCluster(t, 1, meta.Options{Replicas: 1})
	c := cl.client(client.Options{})
	data := large(5) // chunks 0 to 3, the last one half a chunk
	_, err := c.Put(ctx, "big", bytes.NewReader(data))
	require.NoError(t, err)
	from := func(chunk int) string { return "bytes=" + strconv.Itoa(chunk*blob.ChunkSize) + "-" }
	for _, tc := range []struct {
		offset int64
		chunk  int
	}{
		{2*blob.ChunkSize + 1000, 2},
		{-100, 3},
		{-2 * blob.ChunkSize, 1},
		{-10 * blob.ChunkSize, 0},
		{int64(len(data)) + 5, 3},
		{10 * blob.ChunkSize, 3}, // past the last chunk's start, not only the blob's end
	} {
		before := len(cl.Data[0].Ranges())
		o, err := c.GetFrom(ctx, "big", 0, tc.offset)
		require.NoError(t, err)
		at := tc.offset
		if at < 0 {
			at = max(0, at+int64(len(data)))
		}
		at = min(at, int64(len(data)))
		_, err = o.Seek(at, io.SeekStart)
		require.NoError(t, err)
		got, err := io.ReadAll(o)
		require.NoError(t, err)
		require.NoError(t, o.Close())
		assert.Equal(t, data[at:], got, "offset %d", tc.offset)
		assert.Equal(t, []string{from(tc.chunk)}, cl.Data[0].Ranges()[before:], "offset %d", tc.offset)
	}
}

// A data server that goes away mid-stream: the rest comes from another.
func TestStreamSurvivesADataServerLeaving(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	c := cl.client(client.Options{})
	data := large(5)
	_, err := c.Put(ctx, "big", bytes.NewReader(data))
	require.NoError(t, err)
	v, err := c.Stat(ctx, "big", 0)
	require.NoError(t, err)
	o, err := c.Get(ctx, "big", 0)
	require.NoError(t, err)
	defer o.Close()
	first := cl.Node(v.Replicas[0])
	first.HTTP.CloseClientConnections()
	first.HTTP.Close()
	got, err := io.ReadAll(o)
	require.NoError(t, err)
	assert.Equal(t, data, got)
}

// A large blob committed without a chunk list (as before lists existed)
// is read whole and checked against its hash, as small ones are.
func TestBlobWithoutChunksIsReadWhole(t *testing.T) {
	cl := newCluster(t, 1, meta.Options{Replicas: 1})
	c := cl.client(client.Options{})
	data := large(6)
	hash := blob.Sum(data)
	addr := cl.Data[0].URL()
	req, err := http.NewRequest(http.MethodPut, addr+"/blobs/"+string(hash), bytes.NewReader(data))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	commit, err := json.Marshal(meta.CommitRequest{Key: "old", Hash: hash, Size: int64(len(data)), Replicas: []string{addr}})
	require.NoError(t, err)
	resp, err = http.Post(cl.MetaURL+"/commits", "application/json", bytes.NewReader(commit))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	assert.Equal(t, data, read(t, c, "old", 0))
	assert.Equal(t, []string{""}, cl.Data[0].Ranges(), "one GET of the whole blob")
}
