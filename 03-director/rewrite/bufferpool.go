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

type bufferPool struct {
	pool    sync.Pool // *[]byte, each holding a buffer
	holders sync.Pool // *[]byte emptied by Get, for Put to fill again
}

// Get returns a buffer of BufferSize bytes.
func (p *bufferPool) Get() []byte {
	h := p.pool.Get().(*[]byte)
	b := *h
	*h = nil // the holder must not keep the buffer it lent
	p.holders.Put(h)
	return b
}

// Put takes a buffer back. A buffer of another size (not one of ours) is
// left to the garbage collector. A sync.Pool keeps pointers: the buffer
// goes back in a holder (the slice header, 24 bytes) that an earlier Get
// emptied, so a buffer lent and given back allocates nothing.
func (p *bufferPool) Put(b []byte) {
	if cap(b) != BufferSize {
		return
	}
	h, _ := p.holders.Get().(*[]byte)
	if h == nil {
		h = new([]byte)
	}
	*h = b[:BufferSize]
	p.pool.Put(h)
}
