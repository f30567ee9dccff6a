package rewrite

import (
	"net/http"
	"net/http/httputil"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
)

// countingPool counts what the proxy borrows and gives back.
type countingPool struct {
	mu    sync.Mutex
	gets  int
	puts  int
	inner httputil.BufferPool
}

func (p *countingPool) Get() []byte {
	p.mu.Lock()
	p.gets++
	p.mu.Unlock()
	return p.inner.Get()
}

func (p *countingPool) Put(b []byte) {
	p.mu.Lock()
	p.puts++
	p.mu.Unlock()
	p.inner.Put(b)
}

func TestBufferPoolIsUsedForResponseBodies(t *testing.T) {
	pool := &countingPool{inner: NewBufferPool()}
	proxyURL := startProxy(t, New(startBackend(t, nil), Options{BufferPool: pool}))
	for range 3 {
		resp, body := get(t, proxyURL+"/bytes/100KiB", nil, "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Len(t, body, 100<<10)
		assert.Equal(t, backend.Pattern, body[:len(backend.Pattern)], "the body passes through the pooled buffer intact")
	}
	pool.mu.Lock()
	defer pool.mu.Unlock()
	assert.Equal(t, 3, pool.gets, "one buffer per response")
	assert.Equal(t, pool.gets, pool.puts, "every buffer given back")
}

func TestNewBufferPool(t *testing.T) {
	p := NewBufferPool()
	b := p.Get()
	assert.Len(t, b, BufferSize)
	p.Put(b[:10]) // a shortened buffer of ours comes back whole
	p.Put(make([]byte, 10))
	for range 100 {
		got := p.Get()
		require.Len(t, got, BufferSize, "a foreign buffer must never be lent")
	}
}

// BenchmarkBufferPool: a buffer lent and given back costs a slice header
// (24 B), not 32 KiB.
func BenchmarkBufferPool(b *testing.B) {
	p := NewBufferPool()
	b.ReportAllocs()
	for b.Loop() {
		p.Put(p.Get())
	}
}
