package client

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r *bytes.Reader
	n atomic.Int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

// Put hashes its spool's chunks beside the uploads and waits for it
// before it returns; a caller who gave up must not wait while the rest
// of a large spool is hashed for nothing.
func TestChunkListStopsWhenCancelled(t *testing.T) {
	const size = 8 * blob.ChunkSize
	content := &countingReaderAt{r: bytes.NewReader(make([]byte, size))}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	chunks, err := chunkList(ctx, content, size)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, chunks)
	assert.Zero(t, content.n.Load(), "the spool was hashed after the caller gave up")

	chunks, err = chunkList(context.Background(), content, size)
	if assert.NoError(t, err) {
		assert.Len(t, chunks.Hashes, 8)
	}
}
