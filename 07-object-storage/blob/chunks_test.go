package blob_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// The hasher cuts at every ChunkSize bytes whatever the writes' sizes,
// and hashes a short last piece.
func TestChunkHasher(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, blob.ChunkSize - 1, blob.ChunkSize, blob.ChunkSize + 1, 3*blob.ChunkSize + 12345} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		h := blob.NewChunkHasher()
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(300_000)) // writes that straddle the cuts
			k, err := h.Write(rest[:n])
			require.NoError(t, err)
			require.Equal(t, n, k)
			rest = rest[n:]
		}
		var want []blob.Hash
		for off := 0; off < size; off += blob.ChunkSize {
			want = append(want, blob.Sum(data[off:min(off+blob.ChunkSize, size)]))
		}
		got := h.Chunks()
		assert.Equal(t, int64(blob.ChunkSize), got.Size)
		assert.Equal(t, want, got.Hashes, "size %d", size)
		assert.NoError(t, got.Check(int64(size)), "size %d", size)
	}
}

func TestChunksCheck(t *testing.T) {
	one := blob.Sum([]byte("x"))
	for name, c := range map[string]struct {
		chunks blob.Chunks
		size   int64
	}{
		"zero chunk size":  {blob.Chunks{Size: 0, Hashes: []blob.Hash{one}}, 1},
		"too few hashes":   {blob.Chunks{Size: 10, Hashes: []blob.Hash{one}}, 11},
		"too many hashes":  {blob.Chunks{Size: 10, Hashes: []blob.Hash{one, one}}, 10},
		"hashes, no bytes": {blob.Chunks{Size: 10, Hashes: []blob.Hash{one}}, 0},
		"malformed hash":   {blob.Chunks{Size: 10, Hashes: []blob.Hash{one, "../etc"}}, 20},
	} {
		assert.ErrorIs(t, c.chunks.Check(c.size), blob.ErrBadChunks, name)
	}
	assert.NoError(t, blob.Chunks{Size: 10, Hashes: []blob.Hash{one, one}}.Check(11))
	assert.NoError(t, blob.Chunks{Size: 10}.Check(0))
}
