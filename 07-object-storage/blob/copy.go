package blob

import (
	"io"
	"sync"
)

// copyBufferSize is the buffer of Copy. io.Copy's 32 KiB means, for a
// 256 MiB object, 8,192 reads from the network, 8,192 writes to a file
// and 8,192 calls into SHA-256; a megabyte cuts each to 256. On the
// course machine that made a 256 MiB GET through the store about 40%
// faster (chapter 07, "Measured through the gateway"). The price is a
// megabyte per transfer in progress, whatever the object's size.
const copyBufferSize = 1 << 20

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}

// Copy is io.Copy through a pooled 1 MiB buffer, for moving whole blobs:
// into a data server's file, into a client's spool or fetch file.
func Copy(dst io.Writer, src io.Reader) (int64, error) {
	b := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(b)
	return io.CopyBuffer(dst, src, *b)
}
