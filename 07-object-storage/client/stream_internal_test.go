package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/deadaddr"
	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// These tests drive a stream against replicas that misbehave in ways a
// real data server does not: a connection cut mid-chunk, a server that
// ignores Range. A fake metadata server records what the stream reports.

type fakeMeta struct {
	mu      sync.Mutex
	bad     []string // replicas reported
	dropped int      // DELETE /chunks/{hash}
}

func (f *fakeMeta) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/bad":
		b, _ := io.ReadAll(r.Body)
		f.bad = append(f.bad, string(b))
	case r.Method == http.MethodDelete:
		f.dropped++
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeMeta) reports() ([]string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bad, f.dropped
}

// fixture returns a client of a fake metadata server, 3.5 chunks of
// data, and its true chunk list.
func fixture(t *testing.T) (*Client, *fakeMeta, []byte, blob.Chunks) {
	data := make([]byte, 3*blob.ChunkSize+blob.ChunkSize/2)
	rand.NewChaCha8([32]byte{42}).Read(data)
	h := blob.NewChunkHasher()
	h.Write(data)
	fm := &fakeMeta{}
	srv := httptest.NewServer(fm)
	t.Cleanup(srv.Close)
	return New(Options{MetaURL: srv.URL, Log: slog.New(slog.DiscardHandler)}), fm, data, h.Chunks()
}

// replica serves content with Range support, as a data server does.
func replica(t *testing.T, content []byte) string {
	return server(t, func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(content))
	})
}

func server(t *testing.T, h http.HandlerFunc) string {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

func version(data []byte, replicas ...string) meta.Version {
	return meta.Version{Key: "k", Number: 1, Hash: blob.Sum(data), Size: int64(len(data)), Replicas: replicas}
}

// cutAfter yields n bytes of r, then fails: a connection that breaks.
type cutAfter struct {
	r io.ReadSeeker
	n int64
}

func (c *cutAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, errors.New("connection cut")
	}
	n, err := c.r.Read(p[:min(int64(len(p)), c.n)])
	c.n -= int64(n)
	return n, err
}

func (c *cutAfter) Seek(off int64, whence int) (int64, error) { return c.r.Seek(off, whence) }

// A connection that breaks mid-chunk is the network, not a bad copy: the
// next replica carries on from that chunk, and nobody is reported.
func TestStreamCutConnectionIsNotABadCopy(t *testing.T) {
	c, fm, data, chunks := fixture(t)
	cut := server(t, func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, &cutAfter{bytes.NewReader(data), blob.ChunkSize + 5000})
	})
	var goodRanges []string
	good := server(t, func(w http.ResponseWriter, r *http.Request) {
		goodRanges = append(goodRanges, r.Header.Get("Range")) // one request at a time
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	})
	o, err := c.openStream(context.Background(), version(data, cut, good), chunks, 0)
	require.NoError(t, err)
	defer o.Close()
	got, err := io.ReadAll(o)
	require.NoError(t, err)
	assert.Equal(t, data, got)
	assert.Equal(t, []string{"bytes=1048576-"}, goodRanges, "the second replica takes over at chunk 1")
	bad, dropped := fm.reports()
	assert.Empty(t, bad, "a cut connection was reported as a bad copy")
	assert.Zero(t, dropped)
}

// A server that answers a Range request with the whole blob (200) is
// not used for that chunk, and not reported either.
func TestStreamServerWithoutRangeIsNotABadCopy(t *testing.T) {
	c, fm, data, chunks := fixture(t)
	whole := server(t, func(w http.ResponseWriter, r *http.Request) { w.Write(data) })
	o, err := c.openStream(context.Background(), version(data, whole, replica(t, data)), chunks, 0)
	require.NoError(t, err, "chunk 0: the whole blob is a fine answer to bytes=0-")
	defer o.Close()
	_, err = o.Seek(2*blob.ChunkSize, io.SeekStart)
	require.NoError(t, err)
	got, err := io.ReadAll(o)
	require.NoError(t, err)
	assert.Equal(t, data[2*blob.ChunkSize:], got)
	bad, _ := fm.reports()
	assert.Empty(t, bad)
}

// After a chunk failed, going back to an earlier position fetches again:
// the failed bytes left in the buffer are never handed out.
func TestStreamNeverServesAFailedBuffer(t *testing.T) {
	c, _, data, chunks := fixture(t)
	bad := bytes.Clone(data)
	bad[blob.ChunkSize+10] ^= 1
	o, err := c.openStream(context.Background(), version(data, replica(t, bad)), chunks, 0)
	require.NoError(t, err)
	defer o.Close()
	p := make([]byte, blob.ChunkSize)
	_, err = io.ReadFull(o, p)
	require.NoError(t, err)
	_, err = o.Read(p)
	require.ErrorIs(t, err, ErrCorrupt)
	// Back to chunk 0, which was read before: the buffer has since held
	// the failed chunk 1, so chunk 0 must be fetched again (here it
	// cannot be: the only replica is out of the stream since chunk 1).
	_, err = o.Seek(0, io.SeekStart)
	require.NoError(t, err)
	n, err := o.Read(p)
	assert.Equal(t, data[:n], p[:n], "handed out bytes of a chunk that failed")
	assert.ErrorIs(t, err, ErrNoReplica)
	_, err = o.Seek(blob.ChunkSize+5, io.SeekStart)
	require.NoError(t, err)
	n, err = o.Read(p)
	assert.Zero(t, n, "handed out bytes of a chunk that failed")
	assert.ErrorIs(t, err, ErrNoReplica)
}

// A chunk that matches the list on no replica puts the list in doubt:
// it is dropped, and no replica is reported. One that matches on another
// replica convicts the first.
func TestStreamDoubtsTheListBeforeTheCopies(t *testing.T) {
	c, fm, data, chunks := fixture(t)
	wrong := blob.Chunks{Size: chunks.Size, Hashes: append([]blob.Hash(nil), chunks.Hashes...)}
	wrong.Hashes[2] = blob.Sum([]byte("not chunk 2"))
	o, err := c.openStream(context.Background(), version(data, replica(t, data), replica(t, data)), wrong, 0)
	require.NoError(t, err)
	got, err := io.ReadAll(o)
	o.Close()
	assert.ErrorIs(t, err, errListDoubted)
	assert.Equal(t, data[:2*blob.ChunkSize], got)
	bad, dropped := fm.reports()
	assert.Empty(t, bad, "good copies were reported over a wrong list")
	assert.Equal(t, 1, dropped, "the list was not dropped")

	flipped := bytes.Clone(data)
	flipped[2*blob.ChunkSize+1] ^= 1
	o, err = c.openStream(context.Background(), version(data, replica(t, flipped), replica(t, data)), chunks, 0)
	require.NoError(t, err)
	got, err = io.ReadAll(o)
	o.Close()
	require.NoError(t, err)
	assert.Equal(t, data, got)
	bad, dropped = fm.reports()
	assert.Len(t, bad, 1, "the copy that disagreed with a matching one")
	assert.Equal(t, 1, dropped, "no second drop")
}

// A copy whose chunk does not match, with no other copy to compare (the
// other is unreachable), is read whole and judged by the blob's name: a
// bad copy is reported, and the list, which was right, is kept.
func TestStreamJudgesALoneSuspect(t *testing.T) {
	c, fm, data, chunks := fixture(t)
	flipped := bytes.Clone(data)
	flipped[blob.ChunkSize+1] ^= 1
	down := deadaddr.URL(t) // nothing listens here
	o, err := c.openStream(context.Background(), version(data, replica(t, flipped), down), chunks, 0)
	require.NoError(t, err)
	got, err := io.ReadAll(o)
	o.Close()
	assert.ErrorIs(t, err, ErrNoReplica)
	assert.NotErrorIs(t, err, errListDoubted)
	assert.Equal(t, data[:blob.ChunkSize], got)
	bad, dropped := fm.reports()
	assert.Len(t, bad, 1, "the copy proven bad")
	assert.Zero(t, dropped, "a right list was dropped")
}

// Close may run while another goroutine is inside Read, as it does when
// http.ServeContent answers a multi-range request and the client goes:
// it waits, and the buffer goes back to the pool only after the Read.
func TestStreamCloseDuringRead(t *testing.T) {
	c, _, data, chunks := fixture(t)
	second := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	slow := server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Range") != "bytes=0-" {
			once.Do(func() { close(second) })
			<-release
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	})
	o, err := c.openStream(context.Background(), version(data, slow), chunks, 0)
	require.NoError(t, err)
	_, err = o.Seek(3*blob.ChunkSize, io.SeekStart) // a new request, which waits
	require.NoError(t, err)
	read := make(chan error)
	go func() {
		_, err := o.Read(make([]byte, 10))
		read <- err
	}()
	<-second // the Read is in progress
	closed := make(chan struct{})
	go func() { o.Close(); close(closed) }()
	close(release)
	assert.NoError(t, <-read)
	<-closed
	_, err = o.Read(make([]byte, 10))
	assert.Error(t, err, "a Read after Close")
}

// A replica of the right length whose last (short) chunk is wrong: the
// chunks before it are handed out, not one byte of it; with a second
// replica, that one carries on from the last chunk, and the first is
// reported.
func TestStreamWithABadLastChunk(t *testing.T) {
	c, fm, data, chunks := fixture(t)
	bad := bytes.Clone(data)
	bad[len(bad)-1] ^= 1
	last := int64(len(chunks.Hashes)-1) * chunks.Size

	o, err := c.openStream(context.Background(), version(data, replica(t, bad)), chunks, 0)
	require.NoError(t, err)
	got, err := io.ReadAll(o)
	o.Close()
	assert.ErrorIs(t, err, ErrCorrupt)
	assert.Equal(t, data[:last], got, "bytes of the bad last chunk were handed out")

	var ranges []string
	var mu sync.Mutex
	good := server(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ranges = append(ranges, r.Header.Get("Range"))
		mu.Unlock()
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	})
	badAddr := replica(t, bad)
	o, err = c.openStream(context.Background(), version(data, badAddr, good), chunks, 0)
	require.NoError(t, err)
	got, err = io.ReadAll(o)
	o.Close()
	require.NoError(t, err)
	assert.Equal(t, data, got)
	mu.Lock()
	assert.Equal(t, []string{"bytes=" + strconv.FormatInt(last, 10) + "-"}, ranges, "the good replica picks up at the last chunk")
	mu.Unlock()
	reported, _ := fm.reports()
	require.NotEmpty(t, reported)
	assert.Contains(t, reported[len(reported)-1], badAddr)
}

// A chunk list is used only if it fits the blob and its chunks are at
// most maxChunk: a stream holds one chunk, so a list of larger ones
// would let the writer choose how much memory every reader takes.
func TestUsableBoundsTheChunkSize(t *testing.T) {
	hashes := func(n int) []blob.Hash {
		hs := make([]blob.Hash, n)
		for i := range hs {
			hs[i] = blob.Sum([]byte{byte(i)})
		}
		return hs
	}
	v := meta.Version{Size: 3 * maxChunk}
	assert.True(t, usable(blob.Chunks{Size: maxChunk, Hashes: hashes(3)}, v))
	assert.False(t, usable(blob.Chunks{Size: 2 * maxChunk, Hashes: hashes(2)}, v), "chunks larger than maxChunk")
	assert.False(t, usable(blob.Chunks{Size: maxChunk, Hashes: hashes(2)}, v), "too few hashes for the blob")
}

// A copy of the wrong size is a bad copy, reported at once, though every
// chunk the stream reads from it matches: a longer one, answering a
// Range (its Content-Range names its own size) or not (its
// Content-Length); a shorter one asked for a chunk past its end
// (416); and an empty one (a Content-Length of 0). The next replica
// serves the blob.
func TestStreamReportsACopyOfTheWrongSize(t *testing.T) {
	c, fm, data, chunks := fixture(t)
	long := append(bytes.Clone(data), "and more"...)
	ignoresRange := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(long)))
		w.Write(long)
	})
	short := replica(t, data[:2*blob.ChunkSize])
	empty := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "0") // and no Range
	})
	for name, tc := range map[string]struct {
		addr   string
		offset int64
	}{
		"LongWithRange":     {replica(t, long), 0},
		"LongWithoutRange":  {ignoresRange, 0},
		"Short":             {short, 3 * blob.ChunkSize},
		"EmptyWithoutRange": {empty, 0},
	} {
		t.Run(name, func(t *testing.T) {
			before, _ := fm.reports()
			o, err := c.openStream(context.Background(), version(data, tc.addr, replica(t, data)), chunks, tc.offset)
			require.NoError(t, err)
			defer o.Close()
			_, err = o.Seek(tc.offset, io.SeekStart)
			require.NoError(t, err)
			got, err := io.ReadAll(o)
			require.NoError(t, err)
			assert.Equal(t, blob.Sum(data[tc.offset:]), blob.Sum(got))
			bad, _ := fm.reports()
			require.Len(t, bad, len(before)+1, "the copy of the wrong size was not reported")
			assert.Contains(t, bad[len(bad)-1], tc.addr)
		})
	}
}

// A list whose chunks are not blob.ChunkSize (another writer's choice,
// within maxChunk) streams too, through a buffer of its chunk size.
func TestStreamWithAnotherChunkSize(t *testing.T) {
	c, _, data, _ := fixture(t)
	const size = 2 * blob.ChunkSize
	chunks := blob.Chunks{Size: size, Hashes: []blob.Hash{blob.Sum(data[:size]), blob.Sum(data[size:])}}
	o, err := c.openStream(context.Background(), version(data, replica(t, data)), chunks, 0)
	require.NoError(t, err)
	defer o.Close()
	got, err := io.ReadAll(o)
	require.NoError(t, err)
	assert.Equal(t, blob.Sum(data), blob.Sum(got))
}

// A server that answers a Range request with another range than the one
// asked for (here, from a chunk earlier) is not read: its bytes would be
// taken for the wrong chunk. They would not match the list, and with no
// other replica to compare, the stream would judge the copy, find it
// whole and good, and drop a chunk list that was right. The answer is
// refused for its Content-Range instead, and the list is kept.
func TestStreamRefusesAnAnswerForAnotherRange(t *testing.T) {
	c, fm, data, chunks := fixture(t)
	offByAChunk := server(t, func(w http.ResponseWriter, r *http.Request) {
		start, ok := strings.CutPrefix(r.Header.Get("Range"), "bytes=")
		from, err := strconv.ParseInt(strings.TrimSuffix(start, "-"), 10, 64)
		if !ok || err != nil || from < blob.ChunkSize {
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data)) // the whole blob is right
			return
		}
		from -= blob.ChunkSize
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, len(data)-1, len(data)))
		w.Header().Set("Content-Length", strconv.FormatInt(int64(len(data))-from, 10))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(data[from:])
	})
	_, err := c.openStream(context.Background(), version(data, offByAChunk), chunks, 2*blob.ChunkSize)
	assert.ErrorIs(t, err, ErrNoReplica)
	assert.NotErrorIs(t, err, errChunkMismatch, "the answer for another range was read as the chunk")
	assert.NotErrorIs(t, err, errListDoubted)
	_, dropped := fm.reports()
	assert.Zero(t, dropped, "a right list was dropped")
}

// A replica that fails on the network (a cut connection) is not a bad
// copy: it is not reported, and it stays in the stream, behind the
// others, for a later chunk ("maybe later", in load). With three
// replicas that each break once, one chunk after the one they start at,
// the chunks go round them in order: the first replica, cut in chunk 1,
// is tried again for chunk 3, after the second and third have had theirs.
func TestStreamTriesACutReplicaAgainAfterTheOthers(t *testing.T) {
	c, fm, data, chunks := fixture(t)
	var mu sync.Mutex
	var asked []string // "replica range", in order
	flaky := func(name string) string {
		first := true
		return server(t, func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			asked = append(asked, name+" "+r.Header.Get("Range"))
			cut := first
			first = false
			mu.Unlock()
			var content io.ReadSeeker = bytes.NewReader(data)
			if cut {
				content = &cutAfter{content, blob.ChunkSize + 5000}
			}
			http.ServeContent(w, r, "", time.Time{}, content)
		})
	}
	a, b, cc := flaky("a"), flaky("b"), flaky("c")
	o, err := c.openStream(context.Background(), version(data, a, b, cc), chunks, 0)
	require.NoError(t, err)
	defer o.Close()
	got, err := io.ReadAll(o)
	require.NoError(t, err)
	assert.Equal(t, blob.Sum(data), blob.Sum(got))
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"a bytes=0-", "b bytes=1048576-", "c bytes=2097152-", "a bytes=3145728-"}, asked)
	bad, dropped := fm.reports()
	assert.Empty(t, bad, "a cut connection was reported as a bad copy")
	assert.Zero(t, dropped)
}

// Seek moves from the start, from the current position and from the
// end, as io.Seeker says, and the next Read reads from there; a
// position before the start, or an unknown whence, is an error.
func TestStreamSeek(t *testing.T) {
	c, _, data, chunks := fixture(t)
	o, err := c.openStream(context.Background(), version(data, replica(t, data)), chunks, 0)
	require.NoError(t, err)
	defer o.Close()
	size := int64(len(data))
	for _, tc := range []struct {
		offset int64
		whence int
		want   int64
	}{
		{blob.ChunkSize + 10, io.SeekStart, blob.ChunkSize + 10},
		{100, io.SeekCurrent, blob.ChunkSize + 120}, // after the 10 bytes read
		{-100, io.SeekEnd, size - 100},
		{-50, io.SeekCurrent, size - 140},
	} {
		at, err := o.Seek(tc.offset, tc.whence)
		require.NoError(t, err)
		assert.Equal(t, tc.want, at, "Seek(%d, %d)", tc.offset, tc.whence)
		got := make([]byte, 10)
		_, err = io.ReadFull(o, got)
		require.NoError(t, err)
		assert.Equal(t, data[tc.want:tc.want+10], got, "read after Seek(%d, %d)", tc.offset, tc.whence)
	}
	_, err = o.Seek(-1, io.SeekStart)
	assert.Error(t, err, "a position before the start")
	_, err = o.Seek(0, 7)
	assert.Error(t, err, "an unknown whence")
}

// A Read after Close fails, also where the stream stood in the chunk it
// held when it was closed.
func TestStreamReadAfterClose(t *testing.T) {
	c, _, data, chunks := fixture(t)
	o, err := c.openStream(context.Background(), version(data, replica(t, data)), chunks, 0)
	require.NoError(t, err)
	_, err = o.Seek(blob.ChunkSize+10, io.SeekStart)
	require.NoError(t, err)
	_, err = io.ReadFull(o, make([]byte, 10)) // the stream holds chunk 1
	require.NoError(t, err)
	require.NoError(t, o.Close())
	n, err := o.Read(make([]byte, 10))
	assert.Zero(t, n)
	assert.ErrorIs(t, err, os.ErrClosed)
}

// Close gives the pool back only a buffer of blob.ChunkSize: every
// stream that takes one from it uses it as a chunk's room, which a
// buffer of another chunk size does not fit.
func TestStreamPoolsOnlyChunkSizedBuffers(t *testing.T) {
	other := make([]byte, blob.ChunkSize/2)
	s := &stream{buf: &other, have: -1}
	require.NoError(t, s.Close())
	for range 3 {
		b := chunkBuffers.Get().(*[]byte)
		assert.Len(t, *b, blob.ChunkSize, "a buffer of another size in the pool")
		defer chunkBuffers.Put(b)
	}
}
