package backend_test

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/01-backends/backend"
)

// /bytes writes every body from one shared block, so the chapter's claim
// holds: a large body costs the backend no memory per request. The
// handler sends 64 MiB into a writer that keeps nothing; building the body
// in memory (or a new buffer per write) would allocate at least that.
func TestBytesCostNoMemoryPerRequest(t *testing.T) {
	const size = 64 << 20
	h := backend.New("A")
	w := &discard{header: http.Header{}}
	r := httptest.NewRequest(http.MethodGet, "/bytes/64MiB", nil)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	h.ServeHTTP(w, r)
	runtime.ReadMemStats(&after)

	assert.Equal(t, int64(size), w.n, "bytes written")
	allocated := after.TotalAlloc - before.TotalAlloc
	assert.Less(t, allocated, uint64(1<<20), "a 64 MiB body allocated %d KiB: it should cost no memory that grows with its size", allocated>>10)
}

// discard is a ResponseWriter that counts the body and keeps none of it.
type discard struct {
	header http.Header
	n      int64
}

func (d *discard) Header() http.Header { return d.header }
func (d *discard) WriteHeader(int)     {}
func (d *discard) Write(p []byte) (int, error) {
	d.n += int64(len(p))
	return len(p), nil
}
