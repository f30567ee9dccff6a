package rewrite

import (
	"net/http/httputil"
	"sync"
)

// BufferSize is the size of NewBufferPool's buffers: the size
// httputil.ReverseProxy allocates when it has no pool.
const BufferSize = 32 << 10

// NewBufferPool returns an httputil.BufferPool backed by a sync.Pool: a
// buffer returned by one response is lent to the next, so a busy proxy
// copies bodies through a few buffers instead of allocating 32 KiB per
// response. The garbage collector may still empty the pool between two
// collections; the pool only makes the common case free.
func NewBufferPool() httputil.BufferPool {
	return &bufferPool{pool: sync.Pool{New: func() any {
		b := make([]byte, BufferSize)
		return &b
	}}}
}

type bufferPool struct{ pool sync.Pool }

// Get returns a buffer of BufferSize bytes.
func (p *bufferPool) Get() []byte { return *p.pool.Get().(*[]byte) }

// Put takes a buffer back. A buffer of another size (not one of ours) is
// left to the garbage collector. Putting one back costs one small
// allocation, the slice header the pool keeps (24 bytes, not 32 KiB).
func (p *bufferPool) Put(b []byte) {
	if cap(b) != BufferSize {
		return
	}
	b = b[:BufferSize]
	p.pool.Put(&b)
}
