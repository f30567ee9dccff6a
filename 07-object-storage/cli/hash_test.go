package main

import (
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// zeros yields n zero bytes, counting what it has handed out, and calls
// then once after its first read.
type zeros struct {
	n, read int64
	then    func()
}

func (z *zeros) Read(p []byte) (int, error) {
	if z.read == z.n {
		return 0, io.EOF
	}
	k := min(int64(len(p)), z.n-z.read)
	clear(p[:k])
	z.read += k
	if z.then != nil {
		z.then()
		z.then = nil
	}
	return int(k), nil
}

// put FILE hashes the file before sending it; a Ctrl-C during that
// stops it at the next read, not at the end of the file.
func TestHashingStopsOnCtrlC(t *testing.T) {
	const size = 64 << 20
	got, n, err := hashAll(context.Background(), &zeros{n: size})
	require.NoError(t, err)
	assert.Equal(t, int64(size), n)
	assert.Equal(t, blob.Sum(make([]byte, size)), got)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	z := &zeros{n: size, then: cancel}
	_, _, err = hashAll(ctx, z)
	require.ErrorIs(t, err, context.Canceled)
	assert.LessOrEqual(t, z.read, int64(blob.ChunkSize), "hashing went on after the Ctrl-C")
}
