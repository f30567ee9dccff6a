package client

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// A version whose size is not its content's is refused, though the
// content matches the hash: the Object would promise bytes it does not
// have. The copy is not called corrupt: its bytes are the blob's.
func TestFetchChecksTheSize(t *testing.T) {
	for name, memoryLimit := range map[string]int64{"InMemory": 1 << 20, "Spooled": 4} {
		t.Run(name, func(t *testing.T) {
			c, _, _, _ := fixture(t)
			c.opt.MemoryLimit, c.opt.TempDir = memoryLimit, t.TempDir()
			data := []byte("the size is part of the check")
			v := version(data, replica(t, data))
			v.Size++
			o, err := c.fetch(context.Background(), v.Replicas[0], v)
			assert.Nil(t, o)
			assert.ErrorIs(t, err, errSizeClaim)
			assert.ErrorIs(t, err, ErrBadAnswer)
			assert.NotErrorIs(t, err, ErrCorrupt, "a copy holding the blob's bytes called corrupt")
		})
	}
}

// A size the metadata server gets wrong, larger than the blob (by one
// byte, or math.MaxInt64, whose "one byte more" to read overflowed to a
// negative limit and read nothing) or smaller by one byte (the copy is
// then read whole, check's comment says), fails the read as the metadata's
// fault, and no good copy is reported bad for it: a report would have the
// metadata server drop good data. In memory and spooled, and in memory
// with MemoryLimit as large as the claim (a buffer of the claimed size
// would not be allocated).
func TestAWrongSizeClaimReportsNoCopy(t *testing.T) {
	data := []byte("the copies are good, the size is not")
	for name, memoryLimit := range map[string]int64{"InMemory": 1 << 20, "Spooled": 4, "Unlimited": math.MaxInt64} {
		for claim, size := range map[string]int64{"OneMore": int64(len(data)) + 1, "MaxInt64": math.MaxInt64, "OneLess": int64(len(data)) - 1} {
			t.Run(name+"/"+claim, func(t *testing.T) {
				fm := &fakeMeta{}
				v := version(data, replica(t, data), replica(t, data))
				v.Size = size
				c := New(Options{MetaURL: server(t, func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/objects" {
						json.NewEncoder(w).Encode(v)
						return
					}
					fm.ServeHTTP(w, r)
				}), Log: slog.New(slog.DiscardHandler), MemoryLimit: memoryLimit, TempDir: t.TempDir()})
				o, err := c.Get(context.Background(), "k", 0)
				assert.Nil(t, o)
				assert.ErrorContains(t, err, "bad answer")
				assert.NotErrorIs(t, err, ErrCorrupt, "a good copy called corrupt")
				reported, _ := fm.reports()
				assert.Empty(t, reported, "a good copy was reported")
			})
		}
	}
}

// A data server that answers with an error (a 500, a 503) has not shown
// that its copy is bad: Get reads from the next replica and reports
// nobody. Its answer's body is never taken for the blob.
func TestAServerErrorIsNotABadCopy(t *testing.T) {
	for name, memoryLimit := range map[string]int64{"InMemory": 1 << 20, "Spooled": 4} {
		t.Run(name, func(t *testing.T) {
			c, fm, _, _ := fixture(t)
			c.opt.MemoryLimit, c.opt.TempDir = memoryLimit, t.TempDir()
			data := []byte("served by the second replica")
			failing := server(t, func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "busy", http.StatusServiceUnavailable)
			})
			v := version(data, failing, replica(t, data))
			c.metas.put(metaKey{"k", 0}, v) // the fake metadata server lists nothing
			o, err := c.Get(context.Background(), "k", 0)
			require.NoError(t, err)
			defer o.Close()
			var got bytes.Buffer
			_, err = got.ReadFrom(o)
			require.NoError(t, err)
			assert.Equal(t, data, got.Bytes())
			bad, _ := fm.reports()
			assert.Empty(t, bad, "a server that answered an error was reported as a bad copy")
		})
	}
}

// A lookup that fails leaves nothing behind in the metadata cache: an
// API server asked for many keys that do not exist must not keep a
// record of each.
func TestAFailedLookupLeavesNothingBehind(t *testing.T) {
	// The metadata server's 404 names what it did not find (net/http's
	// own "404 page not found" is another server: ErrNotMetadataServer).
	c := New(Options{MetaURL: server(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "meta: "+r.URL.Path+": not found", http.StatusNotFound)
	}), Log: slog.New(slog.DiscardHandler)})
	for _, key := range []string{"a", "b", "c"} {
		_, err := c.Stat(context.Background(), key, 0)
		require.ErrorIs(t, err, meta.ErrNotFound)
	}
	assert.Empty(t, c.metas.lookups)
	assert.Zero(t, c.metas.order.Len())
}

// A chunk list the stream cannot use (here chunks larger than maxChunk)
// is ignored: Get reads the blob whole, with no Range request, rather
// than hold a chunk of the writer's choosing.
func TestGetReadsWholeWithAnUnusableList(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 2*blob.ChunkSize)
	list := blob.Chunks{Size: 2 * maxChunk, Hashes: []blob.Hash{blob.Sum(data)}}
	c := New(Options{MetaURL: server(t, func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(list)
	}), Log: slog.New(slog.DiscardHandler), TempDir: t.TempDir()})
	var ranges []string
	addr := server(t, func(w http.ResponseWriter, r *http.Request) {
		ranges = append(ranges, r.Header.Get("Range")) // one request at a time
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	})
	c.metas.put(metaKey{"k", 0}, version(data, addr))
	o, err := c.Get(context.Background(), "k", 0)
	require.NoError(t, err)
	defer o.Close()
	got, err := io.ReadAll(o)
	require.NoError(t, err)
	assert.Equal(t, blob.Sum(data), blob.Sum(got))
	assert.Equal(t, []string{""}, ranges, "an unusable list was streamed from")
}

// A cached lookup whose replicas all fail is made again, but the same
// servers are not tried twice: a fresh lookup that names them again
// leaves the read failed, and the lookup uncached.
func TestAFreshLookupNamingTheSameServersIsNotRetried(t *testing.T) {
	data := []byte("nobody can serve this")
	var gets atomic.Int32
	busy := server(t, func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		http.Error(w, "busy", http.StatusServiceUnavailable)
	})
	v := version(data, busy)
	var lookups atomic.Int32
	c := New(Options{MetaURL: server(t, func(w http.ResponseWriter, r *http.Request) {
		lookups.Add(1)
		json.NewEncoder(w).Encode(v)
	}), Log: slog.New(slog.DiscardHandler)})
	c.metas.put(metaKey{"k", 0}, v)
	_, err := c.Get(context.Background(), "k", 0)
	assert.ErrorIs(t, err, ErrNoReplica)
	assert.EqualValues(t, 1, lookups.Load(), "the cached lookup was not made again")
	assert.EqualValues(t, 1, gets.Load(), "the same server was tried again")
	_, err = c.Get(context.Background(), "k", 0)
	assert.ErrorIs(t, err, ErrNoReplica)
	assert.EqualValues(t, 2, lookups.Load(), "a lookup whose replicas all failed was kept")
}

// A metadata answer Get cannot use is refused as a bad answer: a
// negative size, taken for a buffer's capacity, would panic, and a
// malformed hash, matching no copy, would have every good copy reported.
func TestABadMetadataAnswerIsRefused(t *testing.T) {
	data := []byte("x")
	for name, bad := range map[string]func(*meta.Version){
		"NegativeSize": func(v *meta.Version) { v.Size = -5 },
		"BadHash":      func(v *meta.Version) { v.Hash = "../../admin" },
	} {
		t.Run(name, func(t *testing.T) {
			fm := &fakeMeta{}
			v := version(data, replica(t, data))
			bad(&v)
			c := New(Options{MetaURL: server(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/objects" {
					json.NewEncoder(w).Encode(v)
					return
				}
				fm.ServeHTTP(w, r)
			}), Log: slog.New(slog.DiscardHandler)})
			_, err := c.Get(context.Background(), "k", 0)
			assert.ErrorContains(t, err, "bad answer")
			assert.ErrorIs(t, err, ErrBadAnswer)
			assert.NotErrorIs(t, err, blob.ErrBadHash, "the metadata server's fault taken for the caller's")
			reported, _ := fm.reports()
			assert.Empty(t, reported, "a good copy was reported")
		})
	}
}

// An answer from the metadata server that is not JSON is a bad answer
// too, which a caller tells by errors.Is, as the API server does to
// answer 502: the metadata server, not the caller or this client, failed.
func TestAMalformedMetadataAnswerIsErrBadAnswer(t *testing.T) {
	c := New(Options{MetaURL: server(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "{not json")
	}), Log: slog.New(slog.DiscardHandler)})
	_, err := c.Stat(context.Background(), "k", 0)
	assert.ErrorIs(t, err, ErrBadAnswer)
	assert.ErrorContains(t, err, "metadata server: bad answer: ")
}

// GetFromFunc asks for the offset with each version it tries to read: a
// lookup from the cache whose replicas all fail, then the lookup made
// again, whose version is the Object's. An API server picks the chunk
// to check from it (If-Range names a version), so the offset it gives
// must be for the version it then serves.
func TestGetFromFuncAsksWithEachVersion(t *testing.T) {
	data := []byte("read from the fresh lookup's servers")
	busy := server(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "busy", http.StatusServiceUnavailable)
	})
	cached, fresh := version(data, busy), version(data, replica(t, data))
	fresh.Number = 2
	c := New(Options{MetaURL: server(t, func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(fresh)
	}), Log: slog.New(slog.DiscardHandler)})
	c.metas.put(metaKey{"k", 0}, cached)
	var asked []uint64
	o, err := c.GetFromFunc(context.Background(), "k", 0, func(v meta.Version) int64 {
		asked = append(asked, v.Number)
		return 0
	})
	require.NoError(t, err)
	defer o.Close()
	assert.Equal(t, []uint64{1, 2}, asked)
	assert.EqualValues(t, 2, o.Number)
}
