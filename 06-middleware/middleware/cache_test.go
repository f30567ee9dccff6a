package middleware_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/middleware"
)

// origin answers every request with its fields and body, and counts the
// requests by method.
type origin struct {
	mu     sync.Mutex
	calls  map[string]int
	header http.Header
	status int
	body   string
}

func newOrigin(body string, header ...string) *origin {
	o := &origin{calls: map[string]int{}, header: http.Header{}, status: http.StatusOK, body: body}
	for i := 0; i+1 < len(header); i += 2 {
		o.header.Add(header[i], header[i+1])
	}
	return o
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	o.calls[r.Method]++
	o.mu.Unlock()
	for k, v := range o.header {
		w.Header()[k] = v
	}
	w.WriteHeader(o.status)
	io.WriteString(w, o.body)
}

func (o *origin) Calls(method string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.calls[method]
}

func newCache(c *clock, cfg ...middleware.CacheConfig) *middleware.Cache {
	var conf middleware.CacheConfig
	if len(cfg) > 0 {
		conf = cfg[0]
	}
	conf.Now = c.Now
	return middleware.NewCache(conf)
}

func request(method, target string, header ...string) *http.Request {
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return req
}

func TestCacheAnswersAFreshGetFromMemory(t *testing.T) {
	clk := newClock()
	o := newOrigin("hello", "Cache-Control", "max-age=60", "Content-Type", "text/plain", "Etag", `"v1"`, "Content-Length", "5")
	h := newCache(clk).Wrap(o)

	first := get(h, "/objects/a")
	assert.Equal(t, "gateway; fwd=uri-miss", first.Header().Get("Cache-Status"))
	clk.Advance(10 * time.Second)
	second := get(h, "/objects/a")

	assert.Equal(t, 1, o.Calls("GET"), "the second GET is answered from memory")
	assert.Equal(t, http.StatusOK, second.Code)
	assert.Equal(t, "hello", second.Body.String())
	assert.Equal(t, "text/plain", second.Header().Get("Content-Type"))
	assert.Equal(t, `"v1"`, second.Header().Get("Etag"))
	assert.Equal(t, "5", second.Header().Get("Content-Length"))
	assert.Equal(t, "10", second.Header().Get("Age"))
	assert.Equal(t, "gateway; hit; ttl=50", second.Header().Get("Cache-Status"))

	get(h, "/objects/b")
	get(h, "/objects/a?version=1")
	get(h, "http://other.example/objects/a")
	assert.Equal(t, 4, o.Calls("GET"), "another path, another query, another host: another answer")
}

func TestCacheHeadIsAnsweredFromAKeptGet(t *testing.T) {
	clk := newClock()
	o := newOrigin("hello", "Cache-Control", "max-age=60")
	h := newCache(clk).Wrap(o)

	do(h, request("HEAD", "/a"))
	do(h, request("HEAD", "/a"))
	assert.Equal(t, 2, o.Calls("HEAD"), "a HEAD's answer has no body to keep")

	get(h, "/a")
	head := do(h, request("HEAD", "/a"))
	assert.Equal(t, 2, o.Calls("HEAD"))
	assert.Equal(t, 1, o.Calls("GET"))
	assert.Equal(t, "", head.Body.String())
	assert.Equal(t, "5", head.Header().Get("Content-Length"), "the length of the body a GET gets")
	assert.Contains(t, head.Header().Get("Cache-Status"), "hit")
}

func TestCacheKeepsAnAnswerOnlyWhileFresh(t *testing.T) {
	for _, tc := range []struct {
		name     string
		header   []string
		lifetime time.Duration
	}{
		{"max-age", []string{"Cache-Control", "max-age=30"}, 30 * time.Second},
		{"s-maxage before max-age", []string{"Cache-Control", "max-age=0, must-revalidate, s-maxage=20"}, 20 * time.Second},
		{"quoted, upper case", []string{"Cache-Control", `Public, MAX-AGE="15"`}, 15 * time.Second},
		{"the upstream's Age counts", []string{"Cache-Control", "max-age=30", "Age", "10"}, 20 * time.Second},
		{"a list-based Age: its first member counts", []string{"Cache-Control", "max-age=30", "Age", "10, 3"}, 20 * time.Second},
		{"a list-based Age: empty members are skipped", []string{"Cache-Control", "max-age=30", "Age", ", 10, 3"}, 20 * time.Second},
		{"commas inside quotes", []string{"Cache-Control", `max-age=10, community="UCI, s-maxage=3600, x"`}, 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			o := newOrigin("x", tc.header...)
			h := newCache(clk).Wrap(o)
			get(h, "/a")
			clk.Advance(tc.lifetime - time.Second)
			last := get(h, "/a")
			assert.Equal(t, 1, o.Calls("GET"), "a second before it expires")
			assert.Contains(t, last.Header().Get("Cache-Status"), "hit; ttl=1")
			clk.Advance(time.Second)
			assert.Equal(t, "gateway; fwd=stale", get(h, "/a").Header().Get("Cache-Status"))
			assert.Equal(t, 2, o.Calls("GET"), "once it has expired")
		})
	}
}

// slowOrigin takes its time: the request's round trip counts in the age
// of its answer (RFC 9111, section 4.2.3).
func TestCacheCountsTheRoundTripInTheAge(t *testing.T) {
	clk := newClock()
	o := newOrigin("x", "Cache-Control", "max-age=10")
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		clk.Advance(3 * time.Second)
		o.ServeHTTP(w, r)
	})
	h := newCache(clk).Wrap(slow)
	get(h, "/a")
	assert.Equal(t, "3", get(h, "/a").Header().Get("Age"))
	clk.Advance(7 * time.Second)
	get(h, "/a")
	assert.Equal(t, 2, o.Calls("GET"), "3 s on the way and 7 s kept: 10 s old")
}

func TestCacheKeepsNothingItMayNot(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		header  []string
		body    string
		request []string
	}{
		{name: "no Cache-Control", header: []string{"Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT"}},
		{name: "no-store", header: []string{"Cache-Control", "max-age=60, no-store"}},
		{name: "no-cache", header: []string{"Cache-Control", "max-age=60, no-cache"}},
		{name: "no-cache with fields", header: []string{"Cache-Control", `max-age=60, no-cache="Set-Cookie"`}},
		{name: "private", header: []string{"Cache-Control", "private, max-age=60"}},
		{name: "max-age=0", header: []string{"Cache-Control", "max-age=0"}},
		{name: "unreadable max-age", header: []string{"Cache-Control", "max-age=1h"}},
		{name: "max-age given twice", header: []string{"Cache-Control", "max-age=60, max-age=120"}},
		{name: "as old as its lifetime", header: []string{"Cache-Control", "max-age=60", "Age", "60"}},
		{name: "Vary", header: []string{"Cache-Control", "max-age=60", "Vary", "Accept-Encoding"}},
		{name: "Set-Cookie", header: []string{"Cache-Control", "max-age=60", "Set-Cookie", "session=1"}},
		{name: "trailers", header: []string{"Cache-Control", "max-age=60", "Trailer", "X-Checksum"}},
		{name: "Connection", header: []string{"Cache-Control", "max-age=60", "Connection", "close"}},
		{name: "404", status: http.StatusNotFound, header: []string{"Cache-Control", "max-age=60"}},
		{name: "206", status: http.StatusPartialContent, header: []string{"Cache-Control", "max-age=60", "Content-Range", "bytes 0-0/5"}},
		{name: "shorter than its Content-Length", header: []string{"Cache-Control", "max-age=60", "Content-Length", "5"}, body: "abc"},
		{name: "longer than an entry may be", header: []string{"Cache-Control", "max-age=60"}, body: strings.Repeat("x", 101)},
		{name: "longer than an entry may be, declared", header: []string{"Cache-Control", "max-age=60", "Content-Length", "101"}, body: strings.Repeat("x", 101)},
		{name: "a request with Authorization", header: []string{"Cache-Control", "max-age=60"}, request: []string{"Authorization", "Bearer t"}},
		{name: "a request with Authorization, proxy-revalidate", header: []string{"Cache-Control", "proxy-revalidate, max-age=60"}, request: []string{"Authorization", "Bearer t"}},
		{name: "a quote never closed", header: []string{"Cache-Control", `max-age=60, community="UCI, no-store`}},
		{name: "a request with an API key", header: []string{"Cache-Control", "max-age=60"}, request: []string{"X-Api-Key", "k"}},
		{name: "a request with no-store", header: []string{"Cache-Control", "max-age=60"}, request: []string{"Cache-Control", "no-store"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newOrigin(tc.body, tc.header...)
			if tc.body == "" {
				o.body = "x"
			}
			if tc.status != 0 {
				o.status = tc.status
			}
			c := newCache(newClock(), middleware.CacheConfig{MaxEntryBytes: 100})
			h := c.Wrap(o)
			get(h, "/a", tc.request...)
			get(h, "/a", tc.request...)
			assert.Equal(t, 2, o.Calls("GET"))
			n, _ := c.Len()
			assert.Zero(t, n)
		})
	}
}

func TestCacheKeepsAnAuthorizedAnswerTheOriginAllows(t *testing.T) {
	for _, credentials := range [][]string{{"Authorization", "Bearer t"}, {"X-Api-Key", "k"}} {
		for _, cc := range []string{"public, max-age=60", "s-maxage=60", "must-revalidate, max-age=60"} {
			o := newOrigin("x", "Cache-Control", cc)
			h := newCache(newClock()).Wrap(o)
			get(h, "/a", credentials...)
			get(h, "/a", credentials...)
			assert.Equal(t, 1, o.Calls("GET"), "%s, %s", credentials[0], cc)
		}
	}
}

func TestCacheKeepsNothingFromAHandlerThatPanicked(t *testing.T) {
	c := newCache(newClock())
	h := c.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "half")
		panic(http.ErrAbortHandler) // what a proxy does when its upstream breaks off
	}))
	assert.Panics(t, func() { get(h, "/a") })
	n, _ := c.Len()
	assert.Zero(t, n)
}

func TestCacheKeepsNothingAfterAFailedWrite(t *testing.T) {
	o := newOrigin("hello", "Cache-Control", "max-age=60")
	c := newCache(newClock())
	req := request("GET", "/a")
	c.Wrap(o).ServeHTTP(failingWriter{httptest.NewRecorder()}, req)
	n, _ := c.Len()
	assert.Zero(t, n, "the client did not get the body: neither may the cache be sure it has it")
}

type failingWriter struct{ *httptest.ResponseRecorder }

func (w failingWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestCacheRequestsThatGoUpstream(t *testing.T) {
	for _, tc := range []struct {
		header []string
		status string
	}{
		{[]string{"Range", "bytes=0-1"}, "gateway; fwd=bypass"},
		{[]string{"If-None-Match", `"v1"`}, "gateway; fwd=bypass"},
		{[]string{"If-Modified-Since", "Mon, 01 Jan 2024 00:00:00 GMT"}, "gateway; fwd=bypass"},
		{[]string{"If-Match", `"v1"`}, "gateway; fwd=bypass"},
		{[]string{"If-Unmodified-Since", "Mon, 01 Jan 2024 00:00:00 GMT"}, "gateway; fwd=bypass"},
		{[]string{"If-Range", `"v1"`}, "gateway; fwd=bypass"},
		{[]string{"Upgrade", "websocket"}, "gateway; fwd=bypass"},
		{[]string{"Cache-Control", "no-cache"}, "gateway; fwd=request"},
		{[]string{"Cache-Control", "max-age=0"}, "gateway; fwd=request"},
	} {
		t.Run(tc.header[0]+": "+tc.header[1], func(t *testing.T) {
			clk := newClock()
			o := newOrigin("x", "Cache-Control", "max-age=60")
			h := newCache(clk).Wrap(o)
			get(h, "/a") // kept
			res := get(h, "/a", tc.header...)
			assert.Equal(t, 2, o.Calls("GET"), "went upstream though an answer is kept")
			assert.Equal(t, tc.status, res.Header().Get("Cache-Status"))
		})
	}
}

func TestCacheBypassedAnswersAreNotKept(t *testing.T) {
	o := newOrigin("x", "Cache-Control", "max-age=60")
	h := newCache(newClock()).Wrap(o)
	get(h, "/a", "Range", "bytes=0-0")
	get(h, "/a", "If-None-Match", `"v0"`)
	get(h, "/a")
	assert.Equal(t, 3, o.Calls("GET"))
}

func TestCacheNoCacheRequestReplacesTheAnswer(t *testing.T) {
	clk := newClock()
	o := newOrigin("old", "Cache-Control", "max-age=60")
	h := newCache(clk).Wrap(o)
	get(h, "/a")
	o.body = "new"
	assert.Equal(t, "new", get(h, "/a", "Cache-Control", "no-cache").Body.String())
	assert.Equal(t, "new", get(h, "/a").Body.String())
	assert.Equal(t, 2, o.Calls("GET"))
}

func TestCacheRequestMaxAge(t *testing.T) {
	clk := newClock()
	o := newOrigin("x", "Cache-Control", "max-age=60")
	h := newCache(clk).Wrap(o)
	get(h, "/a")
	clk.Advance(10 * time.Second)
	assert.Contains(t, get(h, "/a", "Cache-Control", "max-age=10").Header().Get("Cache-Status"), "hit")
	assert.Equal(t, "gateway; fwd=request", get(h, "/a", "Cache-Control", "max-age=9").Header().Get("Cache-Status"))
	assert.Equal(t, 2, o.Calls("GET"))
}

func TestCacheOnlyIfCached(t *testing.T) {
	o := newOrigin("x", "Cache-Control", "max-age=60")
	h := newCache(newClock()).Wrap(o)
	miss := get(h, "/a", "Cache-Control", "only-if-cached")
	assert.Equal(t, http.StatusGatewayTimeout, miss.Code)
	assert.Zero(t, o.Calls("GET"))
	// fwd says that the request went upstream (RFC 9211, section 2.2):
	// this one did not.
	assert.Equal(t, "gateway; detail=uri-miss", miss.Header().Get("Cache-Status"))
	get(h, "/a")
	assert.Equal(t, "x", get(h, "/a", "Cache-Control", "only-if-cached").Body.String())
}

func TestUnsafeRequestsDropTheirPathsAnswers(t *testing.T) {
	for _, tc := range []struct {
		method string
		status int
		drops  bool
	}{
		{"PUT", http.StatusCreated, true},
		{"DELETE", http.StatusNoContent, true},
		{"POST", http.StatusOK, true},
		{"PATCH", http.StatusOK, true},
		{"PUT", http.StatusBadGateway, true}, // the change may have been made all the same
		{"OPTIONS", http.StatusOK, false},
		{"TRACE", http.StatusOK, false},
	} {
		t.Run(tc.method+" "+http.StatusText(tc.status), func(t *testing.T) {
			o := newOrigin("x", "Cache-Control", "max-age=60")
			c := newCache(newClock())
			h := c.Wrap(o)
			get(h, "/objects/a")
			get(h, "/objects/a?version=1")
			do(h, request("GET", "http://other.example/objects/a"))
			get(h, "/objects/b")
			o.status = tc.status
			do(h, request(tc.method, "/objects/a?version=2"))
			n, _ := c.Len()
			if tc.drops {
				assert.Equal(t, 1, n, "every answer for /objects/a, whatever its query and host, is gone")
			} else {
				assert.Equal(t, 4, n)
			}
		})
	}
}

func TestAnUnsafeRequestThatPanicsDropsThePath(t *testing.T) {
	o := newOrigin("x", "Cache-Control", "max-age=60")
	c := newCache(newClock())
	get(c.Wrap(o), "/a")
	boom := c.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	assert.Panics(t, func() { do(boom, request("DELETE", "/a")) })
	n, _ := c.Len()
	assert.Zero(t, n)
}

func TestAGetUnderWayDuringAWriteIsNotKept(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var calls sync.Map
	h := newCache(newClock()).Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "GET" {
			n, _ := calls.LoadOrStore("n", new(int))
			*n.(*int)++
			if *n.(*int) == 1 {
				close(entered)
				<-release // the PUT is answered meanwhile
			}
		}
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "old")
	}))
	done := make(chan struct{})
	go func() { get(h, "/a"); close(done) }()
	<-entered
	do(h, request("PUT", "/a"))
	close(release)
	<-done
	get(h, "/a")
	n, _ := calls.Load("n")
	assert.Equal(t, 2, *n.(*int), "the answer read before the PUT was answered is not kept")
}

func TestCacheDropsTheLeastRecentlyUsed(t *testing.T) {
	o := newOrigin(strings.Repeat("x", 100), "Cache-Control", "max-age=60")
	one := newCache(newClock())
	get(one.Wrap(o), "/a")
	_, size := one.Len() // of one entry: its body, fields and key
	require.Greater(t, size, int64(100))
	limit := 3*size + size/2
	c := newCache(newClock(), middleware.CacheConfig{MaxBytes: limit})
	h := c.Wrap(o)
	get(h, "/a")
	get(h, "/b")
	get(h, "/c")
	get(h, "/a") // used: /b is now the least recently used
	get(h, "/d") // a fourth does not fit
	n, bytes := c.Len()
	assert.Equal(t, 3, n)
	assert.Equal(t, 3*size, bytes)
	before := o.Calls("GET")
	get(h, "/a")
	get(h, "/c")
	get(h, "/d")
	assert.Equal(t, before, o.Calls("GET"), "/a, /c and /d are kept")
	get(h, "/b")
	assert.Equal(t, before+1, o.Calls("GET"), "/b went")
}

func TestCacheKeepsOnlyTheHandlersFields(t *testing.T) {
	o := newOrigin("x", "Cache-Control", "max-age=60", "X-Inner", "1", "Vary-Free", "yes")
	c := newCache(newClock())
	outer := func(value string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("Vary", "Origin") // as CORS, further out, does: not the origin's Vary
			w.Header().Set("X-Outer", value)
			c.Wrap(o).ServeHTTP(w, r)
		})
	}
	get(outer("first"), "/a")
	hit := get(outer("second"), "/a")
	assert.Equal(t, 1, o.Calls("GET"), "the outer layer's Vary does not stop the answer being kept")
	assert.Equal(t, "second", hit.Header().Get("X-Outer"), "the outer layer's field is this request's")
	assert.Equal(t, []string{"Origin"}, hit.Header().Values("Vary"))
	assert.Equal(t, "1", hit.Header().Get("X-Inner"))
}

func TestCacheStatusComesAfterTheUpstreams(t *testing.T) {
	o := newOrigin("x", "Cache-Control", "max-age=60", "Cache-Status", "origin-cache; hit")
	h := newCache(newClock()).Wrap(o)
	assert.Equal(t, []string{"origin-cache; hit", "gateway; fwd=uri-miss"}, get(h, "/a").Header().Values("Cache-Status"))
	assert.Equal(t, []string{"origin-cache; hit", "gateway; hit; ttl=60"}, get(h, "/a").Header().Values("Cache-Status"))
}

func TestCacheIsSafeForConcurrentUse(t *testing.T) {
	o := newOrigin("x", "Cache-Control", "max-age=60")
	c := newCache(newClock(), middleware.CacheConfig{MaxBytes: 5000}) // four answers of the twelve paths
	h := c.Wrap(o)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				path := "/" + string(rune('a'+(i+j)%12))
				if j%7 == 0 {
					do(h, request("PUT", path))
				} else {
					res := get(h, path)
					require.Equal(t, "x", res.Body.String())
				}
			}
		})
	}
	wg.Wait()
	_, bytes := c.Len()
	assert.LessOrEqual(t, bytes, int64(5000))
}

// An answer whose body fits the entry limit but which, with its fields
// and key, is more than the whole cache may hold is not kept: keeping it
// would empty the cache and still overflow it.
func TestCacheKeepsNoAnswerLargerThanItself(t *testing.T) {
	o := newOrigin(strings.Repeat("x", 100), "Cache-Control", "max-age=60")
	c := newCache(newClock(), middleware.CacheConfig{MaxBytes: 100, MaxEntryBytes: 100})
	get(c.Wrap(o), "/a")
	n, bytes := c.Len()
	assert.Zero(t, n)
	assert.Zero(t, bytes)
}

// A path with an encoded slash names another resource than the one with
// a slash (RFC 3986, section 2.2: reserved characters are not
// equivalent to their encodings), and the proxy forwards it as it came:
// one must not get the other's answer.
func TestCacheTellsEncodedSlashesFromSlashes(t *testing.T) {
	h := newCache(newClock()).Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, r.URL.EscapedPath())
	}))
	assert.Equal(t, "/objects/a/b", get(h, "/objects/a/b").Body.String())
	assert.Equal(t, "/objects/a%2Fb", get(h, "/objects/a%2Fb").Body.String())
	assert.Equal(t, "/objects/a/b", get(h, "/objects/a/b").Body.String())
	hit := get(h, "/objects/a%2Fb")
	assert.Equal(t, "/objects/a%2Fb", hit.Body.String())
	assert.Contains(t, hit.Header().Get("Cache-Status"), "hit", "each kept under its own URL")
}

// A client that asks for a kept answer only (only-if-cached) gets a 504
// whenever the layer would go upstream, not only on a miss: with
// no-cache or max-age=0 too, and with a Range, which this layer never
// answers from a kept answer (RFC 9111, section 5.2.1.7).
func TestCacheOnlyIfCachedNeverGoesUpstream(t *testing.T) {
	for _, header := range [][]string{
		{"Cache-Control", "only-if-cached, no-cache"},
		{"Cache-Control", "only-if-cached, max-age=0"},
		{"Cache-Control", "only-if-cached", "Range", "bytes=0-0"},
	} {
		o := newOrigin("x", "Cache-Control", "max-age=60")
		h := newCache(newClock()).Wrap(o)
		get(h, "/a")
		res := get(h, "/a", header...)
		assert.Equal(t, http.StatusGatewayTimeout, res.Code, header)
		assert.NotContains(t, res.Header().Get("Cache-Status"), "fwd=", header)
		assert.Equal(t, 1, o.Calls("GET"), header)
	}
}

// An answer the cache will not keep (no-store, no lifetime, private...)
// is passed on, not copied: a copy of each, up to the entry limit, would
// cost a gateway streaming many such bodies an entry's bytes per request.
func TestCacheCopiesNoAnswerItWillNotKeep(t *testing.T) {
	const size = 512 << 10
	chunk := bytes.Repeat([]byte("x"), 8<<10)
	for _, header := range [][]string{
		{"Cache-Control", "no-store, max-age=60"},
		{"Cache-Control", "private, max-age=60"},
		{"Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT"},
		{"Cache-Control", "max-age=60", "Content-Length", strconv.Itoa(size), "Set-Cookie", "a=1"},
	} {
		h := newCache(newClock()).Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i+1 < len(header); i += 2 {
				w.Header().Set(header[i], header[i+1])
			}
			for range size / len(chunk) {
				w.Write(chunk)
			}
		}))
		req := request("GET", "/a")
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		h.ServeHTTP(&discard{h: http.Header{}}, req)
		runtime.ReadMemStats(&after)
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(size/4), "bytes allocated for %v", header)
	}
}

// A body larger than an entry may be, announced so by its Content-Length
// (the object store's large objects, sent with an s-maxage and to a
// request with an X-Api-Key), is streamed through with no copy and no
// allocation per chunk: what the layer allocates does not grow with the
// number of chunks.
func TestCacheStreamsALargeAnswerWithoutCopies(t *testing.T) {
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	mallocs := func(chunks int) float64 {
		size := chunks * len(chunk)
		h := newCache(newClock(), middleware.CacheConfig{MaxEntryBytes: 1 << 20}).Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=0, must-revalidate, s-maxage=4")
			w.Header().Set("Content-Length", strconv.Itoa(size))
			for range chunks {
				w.Write(chunk)
			}
		}))
		req := request("GET", "/objects/large", "X-Api-Key", "k")
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		h.ServeHTTP(&discard{h: http.Header{}}, req)
		runtime.ReadMemStats(&after)
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<10), "bytes allocated for %d chunks", chunks)
		// The count is the process's: averaged over runs, as AllocsPerRun
		// does, so that a background goroutine's few allocations (another
		// test's timer, the collector's) do not make one run differ.
		return testing.AllocsPerRun(20, func() { h.ServeHTTP(&discard{h: http.Header{}}, req) })
	}
	assert.Equal(t, mallocs(64), mallocs(256), "allocations for 64 chunks (2 MiB) and for 256 (8 MiB)")
}

// The bound in bytes bounds the memory the cache holds, small answers
// too: each one's bookkeeping (its entry, its list element, its map
// slots, its path's maps) counts, not only its body, fields and key. A
// client asking for many tiny answers under distinct paths must not
// make a cache of 256 KiB hold megabytes.
func TestCacheMemoryIsBoundedForSmallAnswers(t *testing.T) {
	const limit = 256 << 10
	c := newCache(newClock(), middleware.CacheConfig{MaxBytes: limit})
	h := c.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Write([]byte("x"))
	}))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 10000 {
		h.ServeHTTP(&discard{h: http.Header{}}, request("GET", "/p"+strconv.Itoa(i)))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	n, bytes := c.Len()
	require.Positive(t, n)
	assert.LessOrEqual(t, bytes, int64(limit))
	assert.Less(t, int64(after.HeapAlloc)-int64(before.HeapAlloc), int64(2*limit), "heap held by %d answers", n)
	runtime.KeepAlive(c)
}

// The gateway routes a path by its normal form (slashes merged, a
// segment's ';' parameters dropped) and forwards it as sent, so an
// upstream that reads paths the same way serves one resource under
// several spellings. A write under one spelling drops the answers kept
// under the others: the layer drops more than it must, never less.
func TestAWriteDropsEverySpellingOfItsPath(t *testing.T) {
	for _, spelling := range []string{"/objects//a", "//objects/a", "/objects;v=1/a", `/objects\a`} {
		o := newOrigin("x", "Cache-Control", "max-age=60")
		c := newCache(newClock())
		h := c.Wrap(o)
		get(h, spelling)
		do(h, request("PUT", "/objects/a"))
		get(h, spelling)
		assert.Equal(t, 2, o.Calls("GET"), "%s after PUT /objects/a", spelling)
	}
}

// The gateway routes "/;%2Fpublic/admin" as /admin (routePath drops a
// segment's ';' parameters before decoding, as Tomcat does, so the encoded
// slash goes with them), while a server that decodes first reads it as
// /public/admin. A write under a spelling drops what any spelling kept
// that either reading makes the same path: here, one upstream reads
// paths one way, the next the other.
func TestAWriteDropsWhatEitherReadingOfItsPathKept(t *testing.T) {
	for _, tc := range []struct{ read, write string }{
		{"/admin", "/;%2Fpublic/admin"},        // params first: one path
		{"/;%2Fpublic/admin", "/admin"},        // params first
		{"/public/admin", "/;%2Fpublic/admin"}, // decoded first: one path
		{"/;%2Fpublic/admin", "/public/admin"}, // decoded first
		{"/a;%2F%2Fb", "/a"},                   // params first
		{"/a;%2F%2Fb", "/a/b"},                 // decoded first
		{"/a%3Bx", "/a;x"},                     // one decoded path
		{"/a;x", "/a%3Bx"},                     // one decoded path
		{"/a", "/a%3Bx"},                       // decoded first
	} {
		o := newOrigin("x", "Cache-Control", "max-age=60")
		h := newCache(newClock()).Wrap(o)
		get(h, tc.read)
		do(h, request("PUT", tc.write))
		get(h, tc.read)
		assert.Equal(t, 2, o.Calls("GET"), "GET %s after PUT %s", tc.read, tc.write)
	}
}

// A write's answer reaches its client before the handler returns (a
// proxy flushes it as it comes), and the client may read at once: the
// kept answers for the path must be gone by then, or the client reads
// the content its write replaced. Here the PUT's handler, once it has
// written its answer, reads the path as that client would.
func TestAWritesClientNeverReadsWhatItReplaced(t *testing.T) {
	for name, answer := range map[string]func(w http.ResponseWriter){
		"a status": func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) },
		"a body":   func(w http.ResponseWriter) { io.WriteString(w, "stored") },
		"a flush":  func(w http.ResponseWriter) { http.NewResponseController(w).Flush() },
	} {
		t.Run(name, func(t *testing.T) {
			var content atomic.Value
			content.Store("old")
			var h http.Handler
			var readBack string
			h = newCache(newClock()).Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPut {
					content.Store("new")
					answer(w) // the client may have the answer from here on
					readBack = get(h, "/a").Body.String()
					return
				}
				w.Header().Set("Cache-Control", "max-age=60")
				io.WriteString(w, content.Load().(string))
			}))
			require.Equal(t, "old", get(h, "/a").Body.String())
			do(h, request("PUT", "/a"))
			assert.Equal(t, "new", readBack)
		})
	}
}

// What a GET reads after the write was answered is the new content, and
// may be kept: only GETs under way before the answer are suspect.
func TestAGetAfterTheWritesAnswerIsKept(t *testing.T) {
	o := newOrigin("x", "Cache-Control", "max-age=60")
	c := newCache(newClock())
	var h http.Handler
	h = c.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			w.WriteHeader(http.StatusNoContent)
			get(h, "/a") // after the answer's header, before the handler returns
			return
		}
		o.ServeHTTP(w, r)
	}))
	do(h, request("PUT", "/a"))
	n, _ := c.Len()
	assert.Equal(t, 1, n, "the GET made after the PUT's answer is kept")
	get(h, "/a")
	assert.Equal(t, 1, o.Calls("GET"))
}

// A write that never writes a header (a handler that panics, or one that
// hijacks the connection) still drops the path's answers when it ends,
// and an informational 1xx is not its answer: the change may not be made
// yet when a 100 Continue goes out.
func TestAWriteDropsThePathWhenItAnswers(t *testing.T) {
	o := newOrigin("x", "Cache-Control", "max-age=60")
	c := newCache(newClock())
	var keptAfter1xx int
	h := c.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			w.WriteHeader(http.StatusContinue)
			keptAfter1xx, _ = c.Len()
			w.WriteHeader(http.StatusNoContent)
			return
		}
		o.ServeHTTP(w, r)
	}))
	get(h, "/a")
	do(h, request("PUT", "/a"))
	assert.Equal(t, 1, keptAfter1xx, "a 100 Continue is not the answer")
	n, _ := c.Len()
	assert.Zero(t, n)
}

// fwd=request says the cache had a fresh answer the request would not
// take (RFC 9211, section 2.2); a no-cache request for a path with nothing
// kept is a plain miss, and one whose answer expired a stale one.
func TestCacheStatusOfANoCacheRequestSaysWhatWasKept(t *testing.T) {
	clk := newClock()
	o := newOrigin("x", "Cache-Control", "max-age=60")
	h := newCache(clk).Wrap(o)
	assert.Equal(t, "gateway; fwd=uri-miss", get(h, "/a", "Cache-Control", "no-cache").Header().Get("Cache-Status"))
	assert.Equal(t, "gateway; fwd=request", get(h, "/a", "Cache-Control", "no-cache").Header().Get("Cache-Status"))
	clk.Advance(time.Minute)
	assert.Equal(t, "gateway; fwd=stale", get(h, "/a", "Cache-Control", "max-age=0").Header().Get("Cache-Status"))
}

// An answer of known length is kept as its last bytes are written, not
// when the handler returns: a proxy may flush them to the client at
// once, and a client that has read the whole answer and asks again must
// find it kept (a flaky miss in chapter 06's transcript). Here the
// handler is still running when the second GET comes.
func TestCacheKeepsAnAnswerAsItsLastBytesGoOut(t *testing.T) {
	second := getWhileTheFirstRuns(t, newCache(newClock()), func(w http.ResponseWriter) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Length", "5")
		io.WriteString(w, "he")
		io.WriteString(w, "llo")
	})
	assert.Equal(t, "hello", second.Body.String())
	assert.Contains(t, second.Header().Get("Cache-Status"), "hit")
}

// getWhileTheFirstRuns sends a GET through c to a handler that answers
// with answer and then waits, and a second GET while it waits; it
// returns the second's answer. The handler fails the test if it is
// called twice: the second GET must be answered from memory.
func getWhileTheFirstRuns(t *testing.T, c *middleware.Cache, answer func(http.ResponseWriter)) *httptest.ResponseRecorder {
	t.Helper()
	written, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	h := c.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) > 1 {
			t.Error("the second GET went upstream")
			return
		}
		answer(w)
		close(written)
		<-release
	}))
	done := make(chan struct{})
	go func() {
		defer close(done)
		get(h, "/a")
	}()
	<-written
	second := get(h, "/a")
	close(release)
	<-done
	return second
}

// An empty answer of known length (Content-Length: 0) is complete as
// its header is written: a handler that flushes the header and goes on
// (a proxy flushing at once) has given the client the whole answer, and
// a second GET must find it kept, as for one with a body.
func TestCacheKeepsAnEmptyAnswerAsItsHeaderGoesOut(t *testing.T) {
	c := newCache(newClock())
	second := getWhileTheFirstRuns(t, c, func(w http.ResponseWriter) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
	})
	assert.Empty(t, second.Body.String())
	assert.Contains(t, second.Header().Get("Cache-Status"), "hit")
	entries, _ := c.Len()
	assert.Equal(t, 1, entries, "kept once")
}
