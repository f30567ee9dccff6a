package client

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

func TestMetaCacheBoundedAndExpiring(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newMetaCache(2, time.Second, func() time.Time { return now })
	for i := range 3 {
		c.put(metaKey{fmt.Sprint(i), 0}, meta.Version{Number: uint64(i)})
	}
	_, _, ok := c.get(metaKey{"0", 0})
	assert.False(t, ok, "the least recently used entry must be evicted past the size")
	v, _, ok := c.get(metaKey{"2", 0})
	assert.True(t, ok)
	assert.Equal(t, uint64(2), v.Number)

	now = now.Add(time.Second - time.Nanosecond)
	_, _, ok = c.get(metaKey{"2", 0})
	assert.True(t, ok, "an entry must last until its TTL is up")
	now = now.Add(time.Nanosecond)
	_, _, ok = c.get(metaKey{"2", 0})
	assert.False(t, ok, "an entry must expire after the TTL")
}

func TestMetaCacheForget(t *testing.T) {
	c := newMetaCache(10, time.Hour, time.Now)
	c.put(metaKey{"k", 0}, meta.Version{})
	c.put(metaKey{"k", 3}, meta.Version{})
	c.put(metaKey{"other", 0}, meta.Version{})
	c.forget("k")
	_, _, ok0 := c.get(metaKey{"k", 0})
	_, _, ok3 := c.get(metaKey{"k", 3})
	_, _, other := c.get(metaKey{"other", 0})
	assert.False(t, ok0 || ok3, "forget must drop every version of the key")
	assert.True(t, other)
}

// What the metadata cache hands out, and what it was given, are the
// caller's: changing a version's Replicas afterwards (sorting them, say)
// does not change the cached entry.
func TestMetaCacheKeepsItsOwnReplicas(t *testing.T) {
	c := newMetaCache(10, time.Hour, time.Now)
	given := meta.Version{Replicas: []string{"http://a", "http://b"}}
	c.put(metaKey{"k", 0}, given)
	given.Replicas[0] = "changed after put"
	got, _, ok := c.get(metaKey{"k", 0})
	require.True(t, ok)
	got.Replicas[1] = "changed after get"
	again, _, _ := c.get(metaKey{"k", 0})
	assert.Equal(t, []string{"http://a", "http://b"}, again.Replicas)
}

func TestDataCacheBoundedByBytes(t *testing.T) {
	const max = 2*entryCost + 10 // room for two entries and 10 bytes
	c := newDataCache(max)
	a, b, big := []byte("aaaa"), []byte("bbbbbb"), make([]byte, max)
	c.put(blob.Sum(a), a)
	c.put(blob.Sum(b), b)
	c.put(blob.Sum(big), big) // larger than the whole cache: not kept
	_, ok := c.get(blob.Sum(big))
	assert.False(t, ok)
	c.get(blob.Sum(a)) // a is now the most recently used
	d := []byte("dd")
	c.put(blob.Sum(d), d)
	_, okA := c.get(blob.Sum(a))
	_, okB := c.get(blob.Sum(b))
	assert.True(t, okA)
	assert.False(t, okB, "the least recently used blob must go when the cache is full")
	assert.LessOrEqual(t, c.used, int64(max))
}

// A lookup's answer is cached unless its key was forgotten while it was
// under way; one that started after the forget is cached; and nothing is
// left behind for lookups that have finished.
func TestMetaCacheLookupForgottenMidway(t *testing.T) {
	c := newMetaCache(10, time.Hour, time.Now)
	k := metaKey{"k", 0}
	before := c.start("k")
	c.forget("k")
	after := c.start("k")
	assert.Zero(t, c.finish(before, k, &meta.Version{Number: 1}), "an answer not cached has no expiry")
	_, _, ok := c.get(k)
	assert.False(t, ok, "a lookup under way when its key was forgotten must not be cached")
	c.finish(after, k, &meta.Version{Number: 2})
	v, _, ok := c.get(k)
	assert.True(t, ok, "a lookup that started after the forget must be cached")
	assert.Equal(t, uint64(2), v.Number)

	failed := c.start("other")
	c.finish(failed, metaKey{"other", 0}, nil)
	assert.Empty(t, c.lookups, "finished lookups must leave nothing behind")
}

// An entry is charged what it holds, not its blob's length: its
// bookkeeping, which is most of what a tiny blob costs, and the whole
// array under its slice.
func TestDataCacheChargesWhatEntriesHold(t *testing.T) {
	c := newDataCache(64 << 10)
	for i := range 10_000 {
		c.put(blob.Sum([]byte(strconv.Itoa(i))), []byte{byte(i)})
	}
	// An entry's name alone is 64 bytes.
	assert.LessOrEqual(t, len(c.items), 64<<10/64, "1-byte blobs were charged 1 byte each")

	c = newDataCache(64 << 10)
	a, b := make([]byte, 1, 40<<10), make([]byte, 1, 40<<10)
	c.put(blob.Sum([]byte("a")), a)
	c.put(blob.Sum([]byte("b")), b)
	assert.Len(t, c.items, 1, "two 40 KiB arrays were kept in a 64 KiB cache")
}

// A blob read into memory, and so into the data cache, holds no spare
// room: io.ReadAll's buffer would hold 512 bytes for these 4.
func TestFetchKeepsNoSpareCapacity(t *testing.T) {
	c, _, _, _ := fixture(t)
	small := []byte("tiny")
	addr := replica(t, small)
	v := version(small, addr)
	o, err := c.fetch(context.Background(), addr, v)
	require.NoError(t, err)
	require.NoError(t, o.Close())
	data, ok := c.blobs.get(v.Hash)
	require.True(t, ok)
	assert.Equal(t, small, data)
	assert.LessOrEqual(t, cap(data), len(data)+1, "the cached blob holds spare capacity")
}

// The metadata cache evicts the entry used least recently, not the one
// put first: a lookup served from the cache counts as a use.
func TestMetaCacheEvictsTheLeastRecentlyUsed(t *testing.T) {
	c := newMetaCache(2, time.Hour, time.Now)
	c.put(metaKey{"a", 0}, meta.Version{})
	c.put(metaKey{"b", 0}, meta.Version{})
	_, _, ok := c.get(metaKey{"a", 0}) // a is now the most recently used
	require.True(t, ok)
	c.put(metaKey{"c", 0}, meta.Version{})
	_, _, okA := c.get(metaKey{"a", 0})
	_, _, okB := c.get(metaKey{"b", 0})
	assert.True(t, okA, "the entry just read was evicted")
	assert.False(t, okB, "the least recently used entry must go")
}

// The data cache never holds more than its bound, not even by less than
// an entry's bookkeeping: here the third put fills it exactly 200 bytes
// past it, and the oldest entry must go.
func TestDataCacheNeverHoldsMoreThanItsBound(t *testing.T) {
	const max = 2*entryCost + 10
	c := newDataCache(max)
	blobs := [][]byte{make([]byte, 4), make([]byte, 6), make([]byte, 0)}
	for i, b := range blobs {
		c.put(blob.Sum([]byte{byte(i)}), b)
		assert.LessOrEqual(t, c.used, int64(max), "after put %d", i)
	}
	_, ok := c.get(blob.Sum([]byte{0}))
	assert.False(t, ok, "the oldest blob must go when the cache is over its bound")

	exact := make([]byte, max-entryCost) // fills the cache to its bound
	c.put(blob.Sum(exact), exact)
	_, ok = c.get(blob.Sum(exact))
	assert.True(t, ok, "a blob that fills the cache exactly was not kept")
	assert.Equal(t, int64(max), c.used)
}

// A lookup's answer is kept for the TTL from when it was asked for, not
// from when it came back: it tells what the metadata server held then,
// and a slow answer is no younger for being slow. Counted from its
// arrival, a lookup that took 3 s would be served 8 s after it was asked.
func TestMetaCacheTTLRunsFromTheLookup(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newMetaCache(10, 5*time.Second, func() time.Time { return now })
	k := metaKey{"k", 0}
	l := c.start("k")
	expires := now.Add(5 * time.Second)
	now = now.Add(3 * time.Second) // the metadata server is slow
	assert.Equal(t, expires, c.finish(l, k, &meta.Version{Number: 1}), "finish's expiry")
	now = now.Add(2*time.Second - time.Nanosecond)
	_, got, ok := c.get(k)
	assert.True(t, ok, "an answer must be kept until the TTL from its lookup is up")
	assert.Equal(t, expires, got, "get's expiry")
	now = now.Add(time.Nanosecond)
	_, _, ok = c.get(k)
	assert.False(t, ok, "an answer must expire a TTL after its lookup started, not after it arrived")
}

// A Client made with the caches' Options left zero has the bounds the
// chapter gives: 1024 lookups, and 64 MiB of blobs (what entries hold,
// bookkeeping included, so 63 blobs of 1 MiB). TestDefaultCaches shows
// they keep what they should; this shows they stop there.
func TestDefaultCachesAreBounded(t *testing.T) {
	c := New(Options{MetaURL: "http://127.0.0.1:1"}) // never asked

	for i := range 1025 {
		c.metas.put(metaKey{strconv.Itoa(i), 0}, meta.Version{})
	}
	_, _, first := c.metas.get(metaKey{"0", 0})
	_, _, second := c.metas.get(metaKey{"1", 0})
	assert.False(t, first, "the metadata cache kept a 1025th lookup")
	assert.True(t, second, "the metadata cache did not keep 1024 lookups")

	mib := make([]byte, blob.ChunkSize) // one array, charged once per entry
	for i := range 64 {
		c.blobs.put(blob.Sum([]byte(strconv.Itoa(i))), mib)
	}
	_, first = c.blobs.get(blob.Sum([]byte("0")))
	_, second = c.blobs.get(blob.Sum([]byte("1")))
	assert.False(t, first, "the data cache kept 64 MiB of blobs and their bookkeeping")
	assert.True(t, second, "the data cache did not keep 63 blobs of 1 MiB")
	assert.LessOrEqual(t, c.blobs.used, int64(64<<20))
}

// Fills at once (readers of many blobs, and of one blob, in parallel)
// keep the data cache within its bound, its count of bytes true, and one
// entry a blob: put decides under the lock, whoever gets there first.
func TestDataCacheFilledConcurrently(t *testing.T) {
	const max = 8*entryCost + 100
	c := newDataCache(max)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				b := []byte(strconv.Itoa(i % 20)) // 20 blobs, each put by every goroutine
				if g%2 == 1 {
					b = []byte(strconv.Itoa(g*1000 + i)) // and blobs of its own
				}
				c.put(blob.Sum(b), b)
				c.get(blob.Sum(b))
			}
		})
	}
	wg.Wait()
	var used int64
	seen := map[blob.Hash]bool{}
	for e := c.order.Front(); e != nil; e = e.Next() {
		ent := e.Value.(*dataEntry)
		assert.False(t, seen[ent.h], "%s kept twice", ent.h.Short())
		seen[ent.h] = true
		used += cost(ent.data)
	}
	assert.Equal(t, used, c.used, "the bytes counted are the bytes held")
	assert.LessOrEqual(t, c.used, int64(max))
	assert.Len(t, c.items, c.order.Len())
}
