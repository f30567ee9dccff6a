package client

import (
	"container/list"
	"slices"
	"sync"
	"time"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// metaCache keeps recent metadata lookups: at most size entries, each
// for at most ttl. Metadata can change under it (another client writes a
// new version), so it must expire; the client drops a key's entries when
// it writes or deletes that key itself, so it always reads its own
// writes. That includes lookups still on their way when the key is
// forgotten: their answers may predate the write, so they are not cached
// (see start).
type metaCache struct {
	size int
	ttl  time.Duration
	now  func() time.Time

	mu      sync.Mutex
	order   *list.List // front: most recently used
	items   map[metaKey]*list.Element
	lookups map[string]*inFlight // keys being looked up now
}

// inFlight counts the lookups of one key under way, and the forgets of
// the key since the oldest of them started.
type inFlight struct {
	n       int
	forgets uint64
}

// lookup is a lookup of key under way, from start to finish.
type lookup struct {
	key     string
	forgets uint64    // inFlight.forgets when it started
	asked   time.Time // when it started: its answer's TTL runs from then
}

type metaKey struct {
	key     string
	version uint64 // 0: the latest
}

type metaEntry struct {
	k       metaKey
	v       meta.Version
	expires time.Time
}

func newMetaCache(size int, ttl time.Duration, now func() time.Time) *metaCache {
	return &metaCache{size: size, ttl: ttl, now: now, order: list.New(), items: map[metaKey]*list.Element{}, lookups: map[string]*inFlight{}}
}

// get returns the cached answer for k, and when it expires.
func (c *metaCache) get(k metaKey) (_ meta.Version, expires time.Time, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[k]
	if !ok {
		return meta.Version{}, time.Time{}, false
	}
	ent := e.Value.(*metaEntry)
	if !c.now().Before(ent.expires) {
		c.order.Remove(e)
		delete(c.items, k)
		return meta.Version{}, time.Time{}, false
	}
	c.order.MoveToFront(e)
	v := ent.v
	v.Replicas = slices.Clone(v.Replicas) // the caller's to change
	return v, ent.expires, true
}

// start records that a lookup of key asks the metadata server now; its
// answer goes in with finish. A forget meanwhile (the client wrote the
// key) makes finish drop the answer: it may be older than the write.
func (c *metaCache) start(key string) lookup {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.lookups[key]
	if f == nil {
		f = &inFlight{}
		c.lookups[key] = f
	}
	f.n++
	return lookup{key: key, forgets: f.forgets, asked: c.now()}
}

// finish ends lookup l, and caches its answer v as k if there is one
// (v not nil) and l's key was not forgotten since l started. The answer
// expires a TTL after l started, not after it came back: it may describe
// the store as it was at any moment in between, and a slow answer is no
// fresher for being slow. finish returns when the answer expires, or the
// zero time if it was not cached.
func (c *metaCache) finish(l lookup, k metaKey, v *meta.Version) (expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.lookups[l.key]
	f.n--
	if f.n == 0 {
		delete(c.lookups, l.key)
	}
	if v != nil && f.forgets == l.forgets {
		return c.putLocked(k, *v, l.asked)
	}
	return time.Time{}
}

func (c *metaCache) put(k metaKey, v meta.Version) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(k, v, c.now())
}

// putLocked caches v as k until a TTL after asked, and returns that
// time; the zero time if the cache is off.
func (c *metaCache) putLocked(k metaKey, v meta.Version, asked time.Time) (expires time.Time) {
	if c.size <= 0 {
		return time.Time{}
	}
	if e, ok := c.items[k]; ok {
		c.order.Remove(e)
	}
	v.Replicas = slices.Clone(v.Replicas) // not the caller's any more
	expires = asked.Add(c.ttl)
	c.items[k] = c.order.PushFront(&metaEntry{k: k, v: v, expires: expires})
	for c.order.Len() > c.size {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.items, old.Value.(*metaEntry).k)
	}
	return expires
}

// forget drops every cached version of key, and the answers of its
// lookups under way.
func (c *metaCache) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.lookups[key]; f != nil {
		f.forgets++
	}
	for k, e := range c.items {
		if k.key == key {
			c.order.Remove(e)
			delete(c.items, k)
		}
	}
}

// dataCache keeps verified blobs in memory, up to a total of max bytes.
// Blobs are named by their content, so an entry can never be stale: it
// needs no TTL and no invalidation, only eviction when full. Only bytes
// that matched their hash are ever put in.
//
// An entry is charged what it holds (cost), not only its blob's length:
// the array under the slice, which may be larger, and the bookkeeping,
// which for small blobs is most of it. Counting only lengths, a cache of
// 64 MiB filled with 1-byte blobs would hold 64 Mi entries: over 13 GiB.
type dataCache struct {
	max int64

	mu    sync.Mutex
	used  int64
	order *list.List // front: most recently used
	items map[blob.Hash]*list.Element
}

type dataEntry struct {
	h    blob.Hash
	data []byte
}

// entryCost is what an entry holds besides its bytes: its name (64 hex
// digits), its list element, its map slot. About 200 bytes on a 64-bit
// machine.
const entryCost = 200

func cost(data []byte) int64 { return int64(cap(data)) + entryCost }

func newDataCache(max int64) *dataCache {
	return &dataCache{max: max, order: list.New(), items: map[blob.Hash]*list.Element{}}
}

func (c *dataCache) get(h blob.Hash) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[h]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*dataEntry).data, true
}

func (c *dataCache) put(h blob.Hash, data []byte) {
	if cost(data) > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[h]; ok {
		return
	}
	c.items[h] = c.order.PushFront(&dataEntry{h: h, data: data})
	c.used += cost(data)
	for c.used > c.max {
		old := c.order.Back()
		c.order.Remove(old)
		ent := old.Value.(*dataEntry)
		delete(c.items, ent.h)
		c.used -= cost(ent.data)
	}
}
