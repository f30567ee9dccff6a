package client

import (
	"container/list"
	"sync"
	"time"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// metaCache keeps recent metadata lookups: at most size entries, each
// for at most ttl. Metadata can change under it (another client writes a
// new version), so it must expire; the client drops a key's entries when
// it writes or deletes that key itself, so it always reads its own
// writes.
type metaCache struct {
	size int
	ttl  time.Duration
	now  func() time.Time

	mu    sync.Mutex
	order *list.List // front: most recently used
	items map[metaKey]*list.Element
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
	return &metaCache{size: size, ttl: ttl, now: now, order: list.New(), items: map[metaKey]*list.Element{}}
}

func (c *metaCache) get(k metaKey) (meta.Version, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[k]
	if !ok {
		return meta.Version{}, false
	}
	ent := e.Value.(*metaEntry)
	if !c.now().Before(ent.expires) {
		c.order.Remove(e)
		delete(c.items, k)
		return meta.Version{}, false
	}
	c.order.MoveToFront(e)
	return ent.v, true
}

func (c *metaCache) put(k metaKey, v meta.Version) {
	if c.size <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.order.Remove(e)
	}
	c.items[k] = c.order.PushFront(&metaEntry{k: k, v: v, expires: c.now().Add(c.ttl)})
	for c.order.Len() > c.size {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.items, old.Value.(*metaEntry).k)
	}
}

// forget drops every cached version of key.
func (c *metaCache) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
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
	if int64(len(data)) > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[h]; ok {
		return
	}
	c.items[h] = c.order.PushFront(&dataEntry{h: h, data: data})
	c.used += int64(len(data))
	for c.used > c.max {
		old := c.order.Back()
		c.order.Remove(old)
		ent := old.Value.(*dataEntry)
		delete(c.items, ent.h)
		c.used -= int64(len(ent.data))
	}
}
