package rewrite

import (
	"net/http"
	"net/http/httputil"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
)

// countingPool counts what the proxy borrows and gives back. The proxy
// gives a buffer back in a deferred call after the last byte went out,
// so a client can have the whole body before the Put: each Put is also
// sent on put, for the test to wait for.
type countingPool struct {
	mu    sync.Mutex
	gets  int
	puts  int
	inner httputil.BufferPool
	put   chan struct{}
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
	p.put <- struct{}{}
}

func TestBufferPoolIsUsedForResponseBodies(t *testing.T) {
	pool := &countingPool{inner: NewBufferPool(), put: make(chan struct{}, 16)}
	proxyURL := startProxy(t, New(startBackend(t, nil), Options{BufferPool: pool}))
	for range 3 {
		resp, body := get(t, proxyURL+"/bytes/100KiB", nil, "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Len(t, body, 100<<10)
		assert.Equal(t, backend.Pattern, body[:len(backend.Pattern)], "the body passes through the pooled buffer intact")
	}
	for range 3 {
		select {
		case <-pool.put:
		case <-time.After(10 * time.Second): // a bound on a hang, not a timing
			t.Fatal("the proxy did not give back three buffers")
		}
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

// BenchmarkBufferPool: a buffer lent and given back costs nothing, not
// 32 KiB.
func BenchmarkBufferPool(b *testing.B) {
	p := NewBufferPool()
	b.ReportAllocs()
	for b.Loop() {
		p.Put(p.Get())
	}
}

// A buffer lent and given back allocates nothing: not the buffer, and not
// the holder sync.Pool keeps it in (an earlier Get's, filled again). Under
// -race a sync.Pool drops a quarter of what is put back, which costs
// under one allocation a round on average; AllocsPerRun truncates it.
func TestABufferLentAndGivenBackAllocatesNothing(t *testing.T) {
	p := NewBufferPool()
	p.Put(p.Get())
	assert.Zero(t, testing.AllocsPerRun(1000, func() { p.Put(p.Get()) }))
}
