package middleware

import (
	"container/list"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of CacheConfig.
const (
	DefaultCacheBytes      = 64 << 20 // every entry together
	DefaultCacheEntryBytes = 1 << 20  // one response's body
)

// cacheEntryOverhead is what keeping one answer costs beyond its body,
// fields and key: its cacheEntry, list element and map slots, and its
// path's cachePath with two maps, about 1.1 KiB measured on amd64 for
// an answer alone on its path (TestCacheMemoryIsBoundedForSmallAnswers).
// Counting it keeps MaxBytes a bound on memory for many tiny answers.
const cacheEntryOverhead = 1 << 10

// CacheConfig configures a Cache.
type CacheConfig struct {
	MaxBytes      int64            // every entry together: bodies, fields, keys and bookkeeping; 0 means DefaultCacheBytes
	MaxEntryBytes int64            // a longer body passes through, not kept; 0 means DefaultCacheEntryBytes
	Name          string           // the cache's name in Cache-Status; "" means "gateway"
	Now           func() time.Time // nil means time.Now
}

// Cache is a shared HTTP cache (RFC 9111) in front of the handler: it
// keeps the 200 answers to GET requests that the origin says a shared
// cache may reuse, for as long as it says (s-maxage, else max-age), and
// answers later GETs and HEADs of the same URL from memory, without the
// upstream. What it keeps is bounded in bytes, least recently used first
// out.
//
// It is deliberately small, and on the safe side wherever the RFC allows
// a choice:
//
//   - Only a fresh answer is reused: a stale one is fetched again whole,
//     never revalidated, and never served while the origin is down.
//   - A request that asks for something a stored answer might not be
//     (a Range, a condition such as If-None-Match, a protocol upgrade)
//     goes to the upstream, and its answer is not kept. So does a
//     request with Cache-Control: no-cache or max-age=0, whose answer
//     replaces the stored one. One with only-if-cached gets a 504
//     instead of any of these trips upstream.
//   - An answer is not kept if it says no-store, no-cache or private, has
//     a Vary or a Set-Cookie, announces trailers, or came incomplete
//     (shorter than its Content-Length, a write to the client failed, or
//     the handler panicked); nor one to a request carrying Authorization
//     or an X-Api-Key, unless the origin allows it (RFC 9111, section 3.5).
//   - Any request with a method other than GET, HEAD, OPTIONS or TRACE
//     (a PUT, a DELETE, a POST) drops every answer kept for its path,
//     whatever the query, host or spelling (//a, /a;x), as its answer
//     goes out, whatever the status (RFC 9111, section 4.4 asks this for
//     non-error answers; an error may come after the change was made).
//     Other hosts' answers go too, past what section 4.4 allows: every
//     host the route accepts reaches the same upstream. A path whose
//     spelling two upstreams may read as two paths ("/;%2Fpublic/admin":
//     /admin to one that drops ';' parameters before decoding, as the
//     gateway routes it, /public/admin to one that decodes first) has
//     its GET answers passed on, not kept, and a write drops both.
//     An answer to a GET that was under way then is not kept: it may
//     predate the change.
//
// The layer says what it did in a Cache-Status field (RFC 9211), added
// after any the upstream sent: "gateway; hit" with the time left, or
// "gateway; fwd=..." with why it went upstream. A hit carries Age
// (RFC 9111, section 5.1), the seconds since the upstream answered, plus
// whatever Age that answer had.
//
// Only the fields the handler inside set are kept: those the layers
// further out set before calling it (a Vary: Origin from CORS) are theirs
// to set again on every request. Put it after auth, so that a client is
// checked before it is answered, and after the layers that must see every
// request (access log, metrics, rate limit). The gateway keeps a route's
// layers, this one too, across a reload that changes neither the route
// nor its pool; any other reload builds the route a new, empty cache.
type Cache struct {
	maxBytes, maxEntry int64
	name               string
	now                func() time.Time

	mu    sync.Mutex
	lru   list.List // of *cacheEntry; front: most recently used
	paths map[string]*cachePath
	bytes int64
}

// cachePath is what the cache holds for one path (in its pathBucket
// form): its answers, by host, spelling and query, and the GETs under
// way that may add one.
type cachePath struct {
	entries map[variantKey]*list.Element
	fills   map[*cacheFill]struct{}
}

// variantKey tells apart the answers kept for one path: by host, query
// and the path as sent, encoding included (URL.RawPath, "" when it is the
// usual one), since /a%2Fb, which the proxy forwards as it came, is
// another resource than /a/b though both decode to the same Path
// (RFC 3986, section 2.2).
type variantKey struct{ host, path, rawPath, query string }

// cacheEntry is one kept answer. Nothing in it changes once it is kept:
// requests answered from it share its slices.
type cacheEntry struct {
	path     string // its pathBucket
	variant  variantKey
	fields   []cachedField
	body     []byte
	received time.Time     // when the upstream's answer came
	age      time.Duration // its age then: corrected_age_value of RFC 9111, 4.2.3 (the Date-based apparent_age is not used)
	lifetime time.Duration
	size     int64
}

// cachedField is a header field the handler set: replacing the field
// (added false) or adding values after those set further out (true).
type cachedField struct {
	key    string
	values []string // clipped: an Add by a later layer copies, never writes into it
	added  bool
}

// cacheFill is a GET under way whose answer may be kept.
type cacheFill struct {
	stale bool // an unsafe request for the path was answered meanwhile
}

// NewCache returns an empty cache.
func NewCache(cfg CacheConfig) *Cache {
	c := &Cache{maxBytes: cfg.MaxBytes, maxEntry: cfg.MaxEntryBytes, name: cfg.Name, now: cfg.Now, paths: map[string]*cachePath{}}
	if c.maxBytes <= 0 {
		c.maxBytes = DefaultCacheBytes
	}
	if c.maxEntry <= 0 {
		c.maxEntry = DefaultCacheEntryBytes
	}
	c.maxEntry = min(c.maxEntry, c.maxBytes)
	if c.name == "" {
		c.name = "gateway"
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// Wrap is the middleware.
func (c *Cache) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
		case http.MethodOptions, http.MethodTrace: // safe: they change nothing
			next.ServeHTTP(w, r)
			return
		default:
			c.write(w, r, next)
			return
		}
		req := parseDirectives(r.Header)
		fwd, keep := "uri-miss", r.Method == http.MethodGet && !req.noStore && oneReading(r.URL)
		switch {
		case c.bypass(r):
			fwd, keep = "bypass", false
		case req.noCache || req.maxAge == 0:
			// The client asked for the upstream's answer. "request" says
			// that a fresh one was kept (RFC 9211, section 2.2).
			if e, age, found := c.lookup(pathBucket(r.URL.Path), variantOf(r)); found {
				fwd = "stale"
				if age < e.lifetime {
					fwd = "request"
				}
			}
		default:
			if e, age, found := c.lookup(pathBucket(r.URL.Path), variantOf(r)); found {
				switch {
				case age >= e.lifetime:
					fwd = "stale"
				case req.maxAge >= 0 && age > req.maxAge:
					fwd = "request" // older than the client accepts
				default:
					c.serve(w, r, e, age)
					return
				}
			}
		}
		if req.onlyIfCached { // whatever the reason to go upstream (RFC 9111, 5.2.1.7)
			// Not fwd, which says that the request went upstream
			// (RFC 9211, section 2.2): detail says why it would have.
			w.Header().Add("Cache-Status", c.name+"; detail="+fwd)
			http.Error(w, "gateway timeout: no kept answer will do, and the request said only-if-cached", http.StatusGatewayTimeout)
			return
		}
		cw := &cacheWriter{ResponseWriter: w, c: c, status: fwd}
		if !keep {
			next.ServeHTTP(cw, r)
			return
		}
		c.fill(cw, r, next)
	})
}

// bypass reports whether r asks for something a kept answer may not be:
// a part of it (Range), an answer that depends on what the client has
// (a condition), or a protocol upgrade. Such a request goes upstream,
// and its answer is not kept.
func (c *Cache) bypass(r *http.Request) bool {
	h := r.Header
	for _, k := range [...]string{"Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range", "Upgrade"} {
		if _, ok := h[k]; ok {
			return true
		}
	}
	return false
}

// variantOf is r's variantKey.
func variantOf(r *http.Request) variantKey {
	return variantKey{r.Host, r.URL.Path, r.URL.RawPath, r.URL.RawQuery}
}

// pathBucket is the form of path (decoded, URL.Path) under which answers
// are filed, and which a write drops: slashes merged, a backslash read as
// a slash, a segment's ';' parameters dropped. An upstream that reads
// paths that way serves one resource under all those spellings, so a
// write under one drops the answers kept under the others.
func pathBucket(path string) string { return NormalPath(path, true) }

// oneReading reports whether both readings of u's path, decoded first
// (pathBucket) and parameters first (RoutePath, the reading the gateway
// routes by), are the same path. An answer is kept only if they are,
// under that path; a write drops what both of its readings kept. So
// whichever way the upstream reads paths, a write drops every answer it
// may change.
func oneReading(u *url.URL) bool {
	return u.RawPath == "" || strings.IndexByte(u.Path, ';') < 0 || RoutePath(u) == pathBucket(u.Path)
}

// lookup finds the answer kept for path and variant, and its age now.
// One that has expired is dropped, and returned.
func (c *Cache) lookup(path string, variant variantKey) (*cacheEntry, time.Duration, bool) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.paths[path]
	if p == nil {
		return nil, 0, false
	}
	el, ok := p.entries[variant]
	if !ok {
		return nil, 0, false
	}
	e := el.Value.(*cacheEntry)
	age := e.age + max(now.Sub(e.received), 0)
	if age >= e.lifetime {
		c.remove(el)
		return e, age, true
	}
	c.lru.MoveToFront(el)
	return e, age, true
}

// serve answers r from e.
func (c *Cache) serve(w http.ResponseWriter, r *http.Request, e *cacheEntry, age time.Duration) {
	h := w.Header()
	for _, f := range e.fields {
		if f.added {
			old := h[f.key]
			h[f.key] = append(old[:len(old):len(old)], f.values...)
		} else {
			h[f.key] = f.values
		}
	}
	if _, ok := h["Content-Length"]; !ok {
		h["Content-Length"] = []string{strconv.Itoa(len(e.body))}
	}
	h["Age"] = []string{strconv.FormatInt(int64(age/time.Second), 10)}
	h.Add("Cache-Status", c.name+"; hit; ttl="+strconv.FormatInt(int64((e.lifetime-age)/time.Second), 10))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(e.body)
	}
}

// carriesCredentials reports whether r says who sends it: Authorization
// (RFC 9111, section 3.5 keeps the answer to such a request from other
// clients unless the origin allows it), or the API key Auth reads in
// X-Api-Key, which an origin may answer per client just the same.
func carriesCredentials(r *http.Request) bool {
	_, auth := r.Header["Authorization"]
	_, key := r.Header[HeaderAPIKey]
	return auth || key
}

// fill sends r upstream through cw, and keeps the answer if it may.
func (c *Cache) fill(cw *cacheWriter, r *http.Request, next http.Handler) {
	f := &cacheFill{}
	c.mu.Lock()
	bucket := pathBucket(r.URL.Path)
	p := c.pathOf(bucket)
	p.fills[f] = struct{}{}
	c.mu.Unlock()
	cw.mayKeep, cw.asked = true, c.now()
	cw.authorized = carriesCredentials(r)
	cw.before.save(cw.Header())
	cw.keep = func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if e := cw.entry(r); e != nil && !f.stale {
			e.path, e.variant = bucket, variantOf(r)
			c.add(p, e)
		}
	}
	defer func() {
		if cw.keeping {
			cw.keep() // not kept as its last bytes went out: a body without a length
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(p.fills, f)
		c.dropIfEmpty(bucket, p)
	}()
	next.ServeHTTP(cw, r)
	cw.done = true // returned, not panicked
}

// pathOf returns path's cachePath, making one. c.mu is held.
func (c *Cache) pathOf(path string) *cachePath {
	p := c.paths[path]
	if p == nil {
		p = &cachePath{entries: map[variantKey]*list.Element{}, fills: map[*cacheFill]struct{}{}}
		c.paths[path] = p
	}
	return p
}

func (c *Cache) dropIfEmpty(path string, p *cachePath) {
	if len(p.entries) == 0 && len(p.fills) == 0 && c.paths[path] == p {
		delete(c.paths, path)
	}
}

// add keeps e, replacing any answer for its variant, and makes room.
// c.mu is held.
func (c *Cache) add(p *cachePath, e *cacheEntry) {
	if old, ok := p.entries[e.variant]; ok {
		c.remove(old)
	}
	for c.bytes+e.size > c.maxBytes && c.lru.Len() > 0 {
		c.remove(c.lru.Back())
	}
	if c.paths[e.path] != p { // emptied by the removals above
		c.paths[e.path] = p
	}
	p.entries[e.variant] = c.lru.PushFront(e)
	c.bytes += e.size
}

// remove drops one entry. c.mu is held.
func (c *Cache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*cacheEntry)
	c.bytes -= e.size
	if p := c.paths[e.path]; p != nil {
		delete(p.entries, e.variant)
		c.dropIfEmpty(e.path, p)
	}
}

// write sends an unsafe request on, and drops its path's answers as its
// answer goes out (writeWriter), before the client can have a byte of
// it: a proxy flushes the answer as it comes, before its handler
// returns, and the client may read the path at once. Not before the
// answer: until the upstream answers, the change may not be made yet, and
// a GET sent meanwhile could read the old content and keep it. A handler
// that writes no header (it panicked, or hijacked the connection) drops
// them as it ends.
func (c *Cache) write(w http.ResponseWriter, r *http.Request, next http.Handler) {
	ww := &writeWriter{ResponseWriter: w, c: c, path: pathBucket(r.URL.Path)}
	if rp := RoutePath(r.URL); rp != ww.path {
		ww.routePath = rp
	}
	defer ww.answered() // a panic's 500 too: the change may be made
	next.ServeHTTP(ww, r)
}

// invalidate drops every answer kept for path, and marks the GETs of it
// under way so that theirs are not kept.
func (c *Cache) invalidate(path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.paths[path]
	if p == nil {
		return
	}
	for f := range p.fills {
		f.stale = true
	}
	for _, el := range p.entries {
		c.remove(el)
	}
}

// Len reports how many answers the cache holds, and their bytes.
func (c *Cache) Len() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.bytes
}
