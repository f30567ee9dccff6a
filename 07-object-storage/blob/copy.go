package blob

import (
	"io"
	"sync"
)

// Copy's buffers. io.Copy's 32 KiB means, for a 256 MiB object, 8,192
// reads from the network, 8,192 writes to a file and 8,192 calls into
// SHA-256; a megabyte cuts each to 256. On the course machine that made a
// 256 MiB GET through the store about 40% faster (chapter 07, "Measured
// through the gateway"). A megabyte per transfer is wasted on a 4 KiB
// object, though, and a busy store moves many at once: so the first
// smallCopy bytes go through a small buffer, and only a blob larger than
// that gets a big one.
const (
	smallCopy = 32 << 10
	bigCopy   = 1 << 20
)

var (
	smallBuffers = sync.Pool{New: func() any { b := make([]byte, smallCopy); return &b }}
	bigBuffers   = sync.Pool{New: func() any { b := make([]byte, bigCopy); return &b }}
)

// Copy is io.Copy for moving whole blobs (into a data server's file, a
// client's spool or fetch file) through pooled buffers: 32 KiB for the
// first 32 KiB, 1 MiB for the rest.
func Copy(dst io.Writer, src io.Reader) (int64, error) {
	n, err := copyWith(&smallBuffers, dst, io.LimitReader(src, smallCopy))
	if err != nil || n < smallCopy {
		return n, err // all of it: a small blob
	}
	m, err := copyWith(&bigBuffers, dst, src)
	return n + m, err
}

// copyWith copies through a buffer from pool, always: io.CopyBuffer
// would hand the copy to dst's ReadFrom or src's WriteTo if they had one,
// and an *os.File's do it 32 KiB at a time.
func copyWith(pool *sync.Pool, dst io.Writer, src io.Reader) (int64, error) {
	b := pool.Get().(*[]byte)
	defer pool.Put(b)
	return io.CopyBuffer(writerOnly{dst}, readerOnly{src}, *b)
}

// writerOnly and readerOnly hide every method but Write and Read: the
// ReadFrom and WriteTo that io.CopyBuffer would otherwise use instead of
// the buffer.
type (
	writerOnly struct{ io.Writer }
	readerOnly struct{ io.Reader }
)
