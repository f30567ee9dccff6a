package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/dataserver"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

var ctx = context.Background()

func read(t *testing.T, c *client.Client, key string, version uint64) []byte {
	t.Helper()
	o, err := c.Get(ctx, key, version)
	require.NoError(t, err)
	defer o.Close()
	data, err := io.ReadAll(o)
	require.NoError(t, err)
	return data
}

func TestPutGet(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{})
	c := cl.client(client.Options{})
	data := []byte("hello, object store")
	v, err := c.Put(ctx, "greeting.txt", bytes.NewReader(data))
	require.NoError(t, err)
	assert.Equal(t, uint64(1), v.Number)
	assert.Equal(t, blob.Sum(data), v.Hash)
	assert.Len(t, v.Replicas, 2, "R=2 copies")
	for _, addr := range v.Replicas {
		assert.True(t, cl.Node(addr).Has(v.Hash), "committed replica %s does not hold the blob", addr)
	}
	assert.Equal(t, data, read(t, c, "greeting.txt", 0))
}

func TestVersionsAndDelete(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{})
	c := cl.client(client.Options{})
	for _, s := range []string{"one", "two"} {
		_, err := c.Put(ctx, "k", strings.NewReader(s))
		require.NoError(t, err)
	}
	assert.Equal(t, "two", string(read(t, c, "k", 0)), "own write must be visible at once")
	assert.Equal(t, "one", string(read(t, c, "k", 1)))

	_, err := c.Delete(ctx, "k")
	require.NoError(t, err)
	_, err = c.Get(ctx, "k", 0)
	assert.ErrorIs(t, err, meta.ErrNotFound, "the latest version is a delete marker")
	assert.Equal(t, "two", string(read(t, c, "k", 2)), "older versions stay readable")

	vs, err := c.Versions(ctx, "k")
	require.NoError(t, err)
	require.Len(t, vs, 3)
	assert.True(t, vs[2].Deleted)
}

func TestList(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	c := cl.client(client.Options{})
	for _, k := range []string{"logs/b", "logs/a", "img/x", "logs/c"} {
		_, err := c.Put(ctx, k, strings.NewReader(k))
		require.NoError(t, err)
	}
	var got []string
	after := ""
	for {
		page, err := c.List(ctx, "logs/", after, 2)
		require.NoError(t, err)
		for _, o := range page.Objects {
			got = append(got, o.Key)
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	assert.Equal(t, []string{"logs/a", "logs/b", "logs/c"}, got)
}

func TestBadKeyStoresNothing(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	c := cl.client(client.Options{MemoryLimit: 2}) // "data" is streamed by PutStream, not held
	for _, key := range []string{"", "a/../b", "a\x00b", "caf\xe9", strings.Repeat("x", 2000)} {
		_, err := c.Put(ctx, key, strings.NewReader("data"))
		assert.ErrorIs(t, err, meta.ErrBadKey, "Put %q", key)
		_, err = c.PutStream(ctx, key, strings.NewReader("data"), 4, blob.Sum([]byte("data")), client.PutOptions{})
		assert.ErrorIs(t, err, meta.ErrBadKey, "PutStream %q", key)
	}
	for _, d := range cl.Data {
		assert.Zero(t, d.Puts.Load(), "a bad key reached a data server")
	}
	l, err := c.List(ctx, "", "", 0)
	require.NoError(t, err)
	assert.Empty(t, l.Objects)
}

// Identical content is stored once: the second Put uploads nothing.
func TestDedup(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{})
	c := cl.client(client.Options{})
	data := bytes.Repeat([]byte("same "), 1000)
	v1, err := c.Put(ctx, "a", bytes.NewReader(data))
	require.NoError(t, err)
	puts := cl.Puts
	before := puts()
	assert.Equal(t, int32(2), before)

	v2, err := c.Put(ctx, "b", bytes.NewReader(data))
	require.NoError(t, err)
	assert.Equal(t, before, puts(), "the second copy of identical content was uploaded again")
	assert.Equal(t, v1.Replicas, v2.Replicas)
	assert.Equal(t, data, read(t, c, "b", 0))
}

// A data server that is down when a write happens (but not yet known to
// be dead) is skipped for the next one on the ring.
func TestDataServerDownDuringWrite(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{})
	down := cl.Data[0].URL()
	var tried atomic.Int32 // uploads sent to the server that is down
	transport := client.NewTransport()
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodPut && strings.HasPrefix(r.URL.String(), down+"/") {
			tried.Add(1)
		}
		return transport.RoundTrip(r)
	})
	c := cl.client(client.Options{HTTP: &http.Client{Transport: rt}})
	cl.Data[0].HTTP.Close()
	// Enough writes that some are placed on the server that is down (the
	// servers' IDs, and so the ring, differ from run to run).
	for i := 0; i < 5 || tried.Load() == 0; i++ {
		require.Less(t, i, 100, "no write was placed on the server that is down")
		data := []byte(strings.Repeat("x", i+1))
		v, err := c.Put(ctx, "k", bytes.NewReader(data))
		require.NoError(t, err)
		assert.Len(t, v.Replicas, 2)
		assert.NotContains(t, v.Replicas, down, "committed on a server that is down")
		assert.Equal(t, data, read(t, c, "k", 0))
	}
}

// Content already stored on a server that is down (but not yet known to
// be dead) is written like new content: the next server on the ring
// takes the copy, instead of the commit failing for want of a copy that
// the placement said existed.
func TestDataServerDownDuringADeduplicatedWrite(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{})
	c := cl.client(client.Options{})
	data := []byte("stored once already")
	v1, err := c.Put(ctx, "a", bytes.NewReader(data))
	require.NoError(t, err)
	down := v1.Replicas[0]
	cl.Node(down).HTTP.Close()

	v2, err := c.Put(ctx, "b", bytes.NewReader(data))
	require.NoError(t, err, "a write of stored content failed with a server that holds it down")
	up := slices.DeleteFunc(slices.Clone(v2.Replicas), func(a string) bool { return a == down })
	assert.Len(t, up, 2, "copies on servers that are up")
	assert.Equal(t, data, read(t, c, "b", 0))
}

// With only W servers and one of them down, a write fails clearly and
// commits nothing.
func TestWriteFailsWithoutQuorum(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{Replicas: 2, Quorum: 2})
	c := cl.client(client.Options{})
	cl.Data[1].HTTP.Close()
	_, err := c.Put(ctx, "k", strings.NewReader("data"))
	assert.ErrorIs(t, err, meta.ErrTooFewReplicas)
	assert.ErrorContains(t, err, "last failure: ", "the error does not say why the upload failed")
	assert.ErrorContains(t, err, cl.Data[1].URL(), "the error does not name the server that failed")
	_, err = c.Stat(ctx, "k", 0)
	assert.ErrorIs(t, err, meta.ErrNotFound, "a write without quorum was committed")
}

// With W=1 the same write succeeds on the one server left.
func TestWriteWithLowerQuorum(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{Replicas: 2, Quorum: 1})
	c := cl.client(client.Options{})
	cl.Data[1].HTTP.Close()
	v, err := c.Put(ctx, "k", strings.NewReader("data"))
	require.NoError(t, err)
	assert.Equal(t, []string{cl.Data[0].URL()}, v.Replicas)
}

// Dead servers (silent past the timeout) get no new blobs; with too few
// live servers the metadata server refuses to place a write.
func TestDeadServersGetNoWrites(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{Timeout: 10 * time.Second})
	c := cl.client(client.Options{})
	cl.Clock.Add(11 * time.Second)
	_, err := c.Put(ctx, "k", strings.NewReader("data"))
	assert.ErrorIs(t, err, meta.ErrTooFewReplicas)

	require.NoError(t, cl.Data[1].Server.Beat(ctx))
	require.NoError(t, cl.Data[2].Server.Beat(ctx))
	v, err := c.Put(ctx, "k", strings.NewReader("data"))
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{cl.Data[1].URL(), cl.Data[2].URL()}, v.Replicas)
}

func TestDataServerDownDuringRead(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{})
	c := cl.client(client.Options{DataCacheBytes: -1})
	v, err := c.Put(ctx, "k", strings.NewReader("still here"))
	require.NoError(t, err)
	cl.Node(v.Replicas[0]).HTTP.Close()
	assert.Equal(t, "still here", string(read(t, c, "k", 0)))
}

// A flipped byte in one stored copy is detected; the read is served from
// a good copy and the bad one is reported and forgotten.
func TestCorruptReplica(t *testing.T) {
	for name, memoryLimit := range map[string]int64{"InMemory": 0, "Spooled": 16} {
		t.Run(name, func(t *testing.T) {
			cl := newCluster(t, 3, meta.Options{})
			c := cl.client(client.Options{MemoryLimit: memoryLimit})
			data := []byte("precious bytes, check them")
			v, err := c.Put(ctx, "k", bytes.NewReader(data))
			require.NoError(t, err)
			bad := v.Replicas[0]
			flipByte(t, cl.Node(bad).BlobPath(v.Hash))

			assert.Equal(t, data, read(t, c, "k", 0))
			assertRepaired(t, cl, c, v)
		})
	}
}

// assertRepaired checks that after a read found a bad copy, the metadata
// server again lists R = 2 copies of v's blob, and each listed copy is
// intact on disk.
func assertRepaired(t *testing.T, cl cluster, c *client.Client, v meta.Version) {
	t.Helper()
	cl.Meta().WaitReports() // the read's report is checked after its answer
	after, err := c.Stat(ctx, v.Key, v.Number)
	require.NoError(t, err)
	assert.Len(t, after.Replicas, 2, "the read did not restore the number of copies")
	for _, addr := range after.Replicas {
		data, err := os.ReadFile(cl.Node(addr).BlobPath(v.Hash))
		if assert.NoError(t, err, "listed replica %s has no file", addr) {
			assert.Equal(t, v.Hash, blob.Sum(data), "listed replica %s is damaged", addr)
		}
	}
}

func flipByte(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[3] ^= 0x01
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

// When every copy is bad, Get fails: the caller gets no bytes at all.
func TestAllReplicasCorrupt(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	c := cl.client(client.Options{})
	v, err := c.Put(ctx, "k", strings.NewReader("doomed content"))
	require.NoError(t, err)
	for _, r := range v.Replicas {
		flipByte(t, cl.Node(r).BlobPath(v.Hash))
	}
	o, err := c.Get(ctx, "k", 0)
	assert.Nil(t, o)
	assert.ErrorIs(t, err, client.ErrNoReplica)
	assert.ErrorIs(t, err, client.ErrCorrupt)
}

// A truncated copy (a data server lost the end of a file) is caught too.
func TestTruncatedReplica(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	c := cl.client(client.Options{MemoryLimit: 4})
	v, err := c.Put(ctx, "k", strings.NewReader("long enough content"))
	require.NoError(t, err)
	require.NoError(t, os.Truncate(cl.Node(v.Replicas[0]).BlobPath(v.Hash), 5))
	assert.Equal(t, "long enough content", string(read(t, c, "k", 0)))
	assertRepaired(t, cl, c, v)
}

// A copy that vanished from a data server (404) is reported and remade.
func TestLostReplica(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{})
	c := cl.client(client.Options{})
	v, err := c.Put(ctx, "k", strings.NewReader("do not lose me"))
	require.NoError(t, err)
	require.NoError(t, os.Remove(cl.Node(v.Replicas[0]).BlobPath(v.Hash)))
	assert.Equal(t, "do not lose me", string(read(t, c, "k", 0)))
	assertRepaired(t, cl, c, v)
}

// A copy with bytes past the blob's end is as bad as a truncated one,
// though its first bytes are right: it is reported and replaced.
func TestLongReplica(t *testing.T) {
	for name, memoryLimit := range map[string]int64{"InMemory": 0, "Spooled": 4} {
		t.Run(name, func(t *testing.T) {
			cl := newCluster(t, 3, meta.Options{})
			c := cl.client(client.Options{MemoryLimit: memoryLimit})
			v, err := c.Put(ctx, "k", strings.NewReader("long enough content"))
			require.NoError(t, err)
			f, err := os.OpenFile(cl.Node(v.Replicas[0]).BlobPath(v.Hash), os.O_APPEND|os.O_WRONLY, 0)
			require.NoError(t, err)
			_, err = f.WriteString("and more")
			require.NoError(t, err)
			require.NoError(t, f.Close())
			assert.Equal(t, "long enough content", string(read(t, c, "k", 0)))
			assertRepaired(t, cl, c, v)
		})
	}
}

// After the metadata server restarts, every committed object is readable.
func TestMetaRestart(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{})
	c := cl.client(client.Options{MetaCacheEntries: -1, DataCacheBytes: -1})
	want := map[string]string{}
	for _, k := range []string{"a", "b", "c/d"} {
		_, err := c.Put(ctx, k, strings.NewReader("content of "+k))
		require.NoError(t, err)
		want[k] = "content of " + k
	}
	cl.RestartMeta()
	for k, w := range want {
		assert.Equal(t, w, string(read(t, c, k, 0)), "after a restart, before any heartbeat")
	}
	// Which data servers are alive is not in the database: a write waits
	// for their next heartbeats (the chapter's "Run it" says so).
	_, err := c.Put(ctx, "e", strings.NewReader("before a heartbeat"))
	assert.ErrorIs(t, err, meta.ErrTooFewReplicas)
	cl.Beat()
	_, err = c.Put(ctx, "a", strings.NewReader("new"))
	require.NoError(t, err)
	assert.Equal(t, "new", string(read(t, c, "a", 0)))
}

// Put reads its source once and reports the source's error.
func TestPutReaderFails(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	c := cl.client(client.Options{})
	boom := errors.New("disk on fire")
	_, err := c.Put(ctx, "k", iotest.ErrReader(boom))
	assert.ErrorIs(t, err, boom)
	_, err = c.Stat(ctx, "k", 0)
	assert.ErrorIs(t, err, meta.ErrNotFound)
}

// An upload asks for "100-continue", so that a data server that holds
// the blob already answers before the body is sent (dataserver
// TestPutExistingSkipsBody).
func TestUploadsExpectContinue(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	var mu sync.Mutex
	var expect []string
	c := cl.client(client.Options{HTTP: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodPut {
			mu.Lock()
			expect = append(expect, r.Header.Get("Expect"))
			mu.Unlock()
		}
		return http.DefaultTransport.RoundTrip(r)
	})}})
	_, err := c.Put(ctx, "k", strings.NewReader("some content"))
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"100-continue", "100-continue"}, expect)
}

// An object larger than the data servers take fails with ErrTooLarge
// and commits nothing. Every server has the same limit, so no server
// past the first R is asked.
func TestPutTooLarge(t *testing.T) {
	cl := newClusterWith(t, 3, meta.Options{}, dataserver.Options{MaxBlobSize: 10})
	c := cl.client(client.Options{})
	_, err := c.Put(ctx, "k", strings.NewReader("eleven byte"))
	assert.ErrorIs(t, err, client.ErrTooLarge)
	assert.EqualValues(t, 2, cl.Puts(), "servers asked to take a blob too large for any")
	_, err = c.Stat(ctx, "k", 0)
	assert.ErrorIs(t, err, meta.ErrNotFound)
	_, err = c.Put(ctx, "k", strings.NewReader("ten bytes!"))
	assert.NoError(t, err)
}

func TestEmptyObject(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	c := cl.client(client.Options{})
	v, err := c.Put(ctx, "empty", strings.NewReader(""))
	require.NoError(t, err)
	assert.Zero(t, v.Size)
	assert.Empty(t, read(t, c, "empty", 0))
}

// Put and Get leave no temporary files behind.
func TestNoTempFilesLeft(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	dir := t.TempDir()
	c := cl.client(client.Options{TempDir: dir, MemoryLimit: 8})
	_, err := c.Put(ctx, "k", strings.NewReader("bigger than eight bytes"))
	require.NoError(t, err)
	o, err := c.Get(ctx, "k", 0)
	require.NoError(t, err)
	require.NoError(t, o.Close())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries)
}

// An object up to MemoryLimit bytes is spooled in memory, a larger one in
// a temporary file: with a TempDir that does not exist, the first Put
// works and the second cannot. Both halves of a spooled object (the part
// read before the limit was passed, and the rest) reach the data servers.
func TestSmallPutsAreSpooledInMemory(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	missing := filepath.Join(t.TempDir(), "not-there")
	c := cl.client(client.Options{TempDir: missing, MemoryLimit: 8})
	_, err := c.Put(ctx, "small", strings.NewReader("12345678"))
	require.NoError(t, err, "8 bytes: in memory")
	_, err = c.Put(ctx, "large", strings.NewReader("123456789"))
	require.ErrorIs(t, err, fs.ErrNotExist, "9 bytes: a temporary file")

	ok := cl.client(client.Options{TempDir: t.TempDir(), MemoryLimit: 8})
	_, err = ok.Put(ctx, "large", strings.NewReader("the first eight, then the rest"))
	require.NoError(t, err)
	assert.Equal(t, "the first eight, then the rest", string(read(t, cl.client(client.Options{}), "large", 0)))
	assert.Equal(t, "12345678", string(read(t, ok, "small", 0)))

	// The largest limit there is: everything in memory, and no overflow
	// in reading one byte more than the limit.
	all := cl.client(client.Options{TempDir: missing, MemoryLimit: math.MaxInt64})
	v, err := all.Put(ctx, "all", strings.NewReader("twelve bytes"))
	require.NoError(t, err)
	assert.EqualValues(t, 12, v.Size)
	assert.Equal(t, "twelve bytes", string(read(t, all, "all", 0)))
}

// A client's metadata cache may serve another client's older write until
// its TTL passes, but never hides the client's own writes.
func TestMetaCache(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	a := cl.client(client.Options{MetaCacheTTL: 5 * time.Second})
	b := cl.client(client.Options{})
	_, err := a.Put(ctx, "k", strings.NewReader("v1"))
	require.NoError(t, err)
	assert.Equal(t, "v1", string(read(t, a, "k", 0)))

	_, err = b.Put(ctx, "k", strings.NewReader("v2"))
	require.NoError(t, err)
	assert.Equal(t, "v1", string(read(t, a, "k", 0)), "within the TTL, a's cached metadata is used")
	cl.Clock.Add(5 * time.Second)
	assert.Equal(t, "v2", string(read(t, a, "k", 0)), "after the TTL, a sees b's write")

	_, err = a.Put(ctx, "k", strings.NewReader("v3"))
	require.NoError(t, err)
	assert.Equal(t, "v3", string(read(t, a, "k", 0)), "a must read its own write at once")
	_, err = a.Delete(ctx, "k")
	require.NoError(t, err)
	_, err = a.Get(ctx, "k", 0)
	assert.ErrorIs(t, err, meta.ErrNotFound, "a must see its own delete at once")
}

// A second read of the same content is served from the data cache.
func TestDataCache(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	c := cl.client(client.Options{})
	_, err := c.Put(ctx, "k", strings.NewReader("cache me"))
	require.NoError(t, err)
	read(t, c, "k", 0)
	before := cl.Gets()
	assert.Equal(t, "cache me", string(read(t, c, "k", 0)))
	assert.Equal(t, before, cl.Gets(), "the second read went to a data server")
}

// The data cache holds only bytes that matched their hash. A copy that
// failed its check is never kept, so a later read of the same blob goes
// to the data servers again rather than serving the bad bytes from
// memory: after a bad copy and a good one, the good bytes; after two bad
// copies, an error again, never the bytes the first read refused.
func TestDataCacheHoldsOnlyVerifiedBytes(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	c := cl.client(client.Options{})

	one, err := c.Put(ctx, "one bad", strings.NewReader("one copy of this goes bad"))
	require.NoError(t, err)
	flipByte(t, cl.Node(one.Replicas[0]).BlobPath(one.Hash)) // the copy Get tries first
	assert.Equal(t, "one copy of this goes bad", string(read(t, c, "one bad", 0)))
	assert.Equal(t, "one copy of this goes bad", string(read(t, c, "one bad", 0)), "the second read served a copy that failed its check")

	both, err := c.Put(ctx, "both bad", strings.NewReader("every copy of this goes bad"))
	require.NoError(t, err)
	for _, r := range both.Replicas {
		flipByte(t, cl.Node(r).BlobPath(both.Hash))
	}
	for i := range 2 {
		o, err := c.Get(ctx, "both bad", 0)
		if !assert.ErrorIs(t, err, client.ErrNoReplica, "read %d", i) {
			data, _ := io.ReadAll(o)
			o.Close()
			t.Errorf("read %d served %q, which matches no hash", i, data)
		}
	}
}

// With Options left zero, the caches are the documented ones: a lookup
// is kept for 5 s, more than one at a time (1024), and a blob of
// MemoryLimit (1 MiB) fits in the data cache (64 MiB).
func TestDefaultCaches(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	a, b := cl.client(client.Options{}), cl.client(client.Options{})
	_, err := a.Put(ctx, "small", strings.NewReader("v1"))
	require.NoError(t, err)
	data := large(1)[:1<<20]
	_, err = a.Put(ctx, "large", bytes.NewReader(data))
	require.NoError(t, err)
	assert.Equal(t, "v1", string(read(t, a, "small", 0)))
	assert.Equal(t, blob.Sum(data), blob.Sum(read(t, a, "large", 0)))
	before := cl.Gets()
	assert.Equal(t, blob.Sum(data), blob.Sum(read(t, a, "large", 0)))
	assert.Equal(t, before, cl.Gets(), "a 1 MiB blob was not kept in the data cache")

	_, err = b.Put(ctx, "small", strings.NewReader("v2"))
	require.NoError(t, err)
	cl.Clock.Add(5*time.Second - time.Nanosecond)
	assert.Equal(t, "v1", string(read(t, a, "small", 0)), "a lookup must be kept for 5 s, beside another")
	cl.Clock.Add(time.Nanosecond)
	assert.Equal(t, "v2", string(read(t, a, "small", 0)), "a lookup must expire after 5 s")
}

// A caller-supplied digest that does not match the content stores nothing.
func TestPutDigestMismatch(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	c := cl.client(client.Options{})
	_, err := c.PutDigest(ctx, "k", strings.NewReader("actual"), blob.Sum([]byte("promised")), client.PutOptions{})
	assert.ErrorIs(t, err, blob.ErrDigestMismatch)
	assert.Zero(t, cl.Puts(), "a mismatching object reached a data server")
	_, err = c.Stat(ctx, "k", 0)
	assert.ErrorIs(t, err, meta.ErrNotFound)

	_, err = c.PutDigest(ctx, "k", strings.NewReader("actual"), "not-a-hash", client.PutOptions{})
	assert.ErrorIs(t, err, blob.ErrBadHash)
	v, err := c.PutDigest(ctx, "k", strings.NewReader("actual"), blob.Sum([]byte("actual")), client.PutOptions{})
	require.NoError(t, err)
	assert.Equal(t, uint64(1), v.Number)
}

// A data server that comes back on another address keeps its blobs: the
// metadata server records the ID of its disk, not its address.
func TestDataServerMoves(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	c := cl.client(client.Options{MetaCacheEntries: -1, DataCacheBytes: -1})
	_, err := c.Put(ctx, "k", strings.NewReader("portable"))
	require.NoError(t, err)
	old := cl.Data[0].URL()
	cl.MoveData(0)
	cl.Data[1].HTTP.Close() // only the moved server can answer now
	require.NotEqual(t, old, cl.Data[0].URL())

	v, err := c.Stat(ctx, "k", 0)
	require.NoError(t, err)
	assert.Contains(t, v.Replicas, cl.Data[0].URL(), "the moved server's new address is listed")
	assert.NotContains(t, v.Replicas, old, "the moved server's old address is still listed")
	assert.Equal(t, "portable", string(read(t, c, "k", 0)))
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A lookup already on its way when the client writes the key may bring
// back the version before the write. It must not be cached, or the
// client would not read its own write until the entry expired: on an API
// server, where a hot key is read all the time, that is the usual case.
// Here a Stat's answer (version 1) is held back while the same client
// writes version 2.
func TestALookupOlderThanAWriteIsNotCached(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	var hold atomic.Bool
	held, release := make(chan struct{}), make(chan struct{})
	transport := client.NewTransport()
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := transport.RoundTrip(r)
		if r.Method == http.MethodGet && r.URL.Path == "/objects" && hold.CompareAndSwap(true, false) {
			held <- struct{}{} // the metadata server has answered
			<-release
		}
		return resp, err
	})
	c := cl.client(client.Options{HTTP: &http.Client{Transport: rt}, MetaCacheTTL: time.Hour})
	_, err := c.Put(ctx, "k", strings.NewReader("v1"))
	require.NoError(t, err)

	hold.Store(true)
	type answer struct {
		v          meta.Version
		freshUntil time.Time
	}
	stale := make(chan answer, 1)
	go func() {
		v, until, _ := c.StatFreshUntil(ctx, "k", 0)
		stale <- answer{v, until}
	}()
	<-held
	v2, err := c.Put(ctx, "k", strings.NewReader("v2"))
	require.NoError(t, err)
	close(release)
	a := <-stale
	assert.Equal(t, uint64(1), a.v.Number, "the held lookup was answered before the write")
	assert.Zero(t, a.freshUntil, "an answer not cached, since it may predate the write, is fresh for no time")

	v, err := c.Stat(ctx, "k", 0)
	require.NoError(t, err)
	assert.Equal(t, v2.Number, v.Number, "the client must read its own write, not the older lookup's answer")
	assert.Equal(t, "v2", string(read(t, c, "k", 0)))
}

// Reporting a bad copy is a write of the metadata: like a Put, it must
// leave no cached lookup of the key that predates it. A lookup made
// while the report is on its way sees the bad copy still listed; the
// client must not keep that answer, or it sends every read to the bad
// copy first until the entry expires.
func TestALookupOlderThanABadReportIsNotCached(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{})
	data := large(6)
	v, err := cl.client(client.Options{}).Put(ctx, "k", bytes.NewReader(data))
	require.NoError(t, err)

	held, release := make(chan struct{}), make(chan struct{})
	transport := client.NewTransport()
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodPost && r.URL.Path == "/bad" {
			held <- struct{}{} // the report has not reached the metadata server
			<-release
		}
		return transport.RoundTrip(r)
	})
	c := cl.client(client.Options{HTTP: &http.Client{Transport: rt}, MetaCacheTTL: time.Hour})
	before, err := c.Stat(ctx, "k", 0)
	require.NoError(t, err)
	lost := before.Replicas[0] // the replica Get tries first
	require.NoError(t, os.Remove(cl.Node(lost).BlobPath(v.Hash)))

	got := make(chan []byte, 1)
	go func() {
		o, err := c.Get(ctx, "k", 0)
		if err != nil {
			got <- nil
			return
		}
		defer o.Close()
		var b bytes.Buffer
		b.ReadFrom(o)
		got <- b.Bytes()
	}()
	<-held
	during, err := c.Stat(ctx, "k", 0) // the report not yet made: the old list
	require.NoError(t, err)
	assert.Contains(t, during.Replicas, lost)
	close(release)
	assert.Equal(t, data, <-got)

	cl.Meta().WaitReports() // the metadata server forgets the copy once its check finds it gone
	after, err := c.Stat(ctx, "k", 0)
	require.NoError(t, err)
	assert.NotContains(t, after.Replicas, lost, "the client kept a lookup older than its own report")
}

// Read repair is a write of the metadata too: a lookup answered while
// the new copies are being recorded lists only the copies from before,
// and must not be cached, or the client goes on without the new copies
// until the entry expires.
func TestALookupOlderThanARepairIsNotCached(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{})
	v, err := cl.client(client.Options{}).Put(ctx, "k", strings.NewReader("repair me"))
	require.NoError(t, err)

	held, release := make(chan struct{}), make(chan struct{})
	var released sync.Once
	t.Cleanup(func() { released.Do(func() { close(release) }) }) // a failed check must not leave Get waiting
	transport := client.NewTransport()
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodPost && r.URL.Path == "/writes" {
			// The reader reported the missing copy before it repairs.
			// Let the report's check find it gone and forget it first,
			// or it may find the repair's new copy there and keep it.
			cl.Meta().WaitReports()
		}
		if r.Method == http.MethodPost && r.URL.Path == "/replicas" {
			held <- struct{}{} // the new copy is made, not yet recorded
			<-release
		}
		return transport.RoundTrip(r)
	})
	c := cl.client(client.Options{HTTP: &http.Client{Transport: rt}, MetaCacheTTL: time.Hour})
	before, err := c.Stat(ctx, "k", 0)
	require.NoError(t, err)
	require.NoError(t, os.Remove(cl.Node(before.Replicas[0]).BlobPath(v.Hash)))

	got := make(chan string, 1)
	go func() {
		o, err := c.Get(ctx, "k", 0)
		if err != nil {
			got <- err.Error()
			return
		}
		defer o.Close()
		b, _ := io.ReadAll(o)
		got <- string(b)
	}()
	<-held
	during, err := c.Stat(ctx, "k", 0) // the repair not yet recorded
	require.NoError(t, err)
	require.Len(t, during.Replicas, 1)
	released.Do(func() { close(release) })
	assert.Equal(t, "repair me", <-got)

	after, err := c.Stat(ctx, "k", 0)
	require.NoError(t, err)
	assert.Len(t, after.Replicas, 2, "the client kept a lookup older than its own repair")
}

// A read whose every replica failed does not trust the lookup that named
// them if it came from the cache: the blob's servers may have moved or
// died since, which the metadata server knows and the cache does not.
// It asks again, and reads from the servers named now.
func TestACachedLookupWhoseReplicasAllFailIsAskedAgain(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	c := cl.client(client.Options{DataCacheBytes: -1})
	_, err := c.Put(ctx, "k", strings.NewReader("portable"))
	require.NoError(t, err)
	assert.Equal(t, "portable", string(read(t, c, "k", 0))) // the lookup is cached
	cl.MoveData(0)
	cl.Data[1].HTTP.Close() // only the moved server can answer, at its new address
	cl.Clock.Add(time.Second)
	o, err := c.Get(ctx, "k", 0)
	require.NoError(t, err)
	defer o.Close()
	data, err := io.ReadAll(o)
	require.NoError(t, err)
	assert.Equal(t, "portable", string(data))
	assert.Equal(t, cl.Clock.Now().Add(5*time.Second), o.FreshUntil, "the Object is as fresh as the lookup made again, not the one cached")
}
