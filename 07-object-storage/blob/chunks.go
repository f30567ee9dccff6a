package blob

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
)

// ChunkSize is the length of the pieces a large blob is also hashed in.
//
// A blob's name is the SHA-256 of all of it, so checking a copy against
// its name takes every byte: a reader that may pass on only checked
// bytes must hold the whole blob before it sends the first. With the
// hash of every ChunkSize piece as well, recorded when the blob is
// written, a reader can check one piece, send it, and go on: memory and
// waiting are one chunk, not one blob. A megabyte keeps the list short
// (a 32-byte hash per MiB, 67 bytes as JSON: 17 KiB for a 256 MiB blob)
// while a reader holds little.
const ChunkSize = 1 << 20

// ErrBadChunks is a chunk list that cannot belong to a blob of the size
// it is given with.
var ErrBadChunks = errors.New("chunk hashes do not fit the blob")

// Chunks are the hashes of a blob's consecutive pieces of Size bytes
// (the last one may be shorter), in order.
type Chunks struct {
	Size   int64  `json:"size"`
	Hashes []Hash `json:"hashes"`
}

// Check reports whether c can describe a blob of blobSize bytes: a
// positive chunk size, one well-formed hash per piece.
func (c Chunks) Check(blobSize int64) error {
	if c.Size <= 0 {
		return fmt.Errorf("chunk size %d: %w", c.Size, ErrBadChunks)
	}
	want := blobSize / c.Size
	if blobSize%c.Size != 0 {
		want++
	}
	if int64(len(c.Hashes)) != want {
		return fmt.Errorf("%d hashes for %d bytes in chunks of %d (want %d): %w", len(c.Hashes), blobSize, c.Size, want, ErrBadChunks)
	}
	for i, h := range c.Hashes {
		if _, err := ParseHash(string(h)); err != nil {
			return fmt.Errorf("chunk %d: %w: %w", i, err, ErrBadChunks)
		}
	}
	return nil
}

// ChunkHasher is an io.Writer that hashes what it is given in pieces of
// ChunkSize bytes. Write never fails.
type ChunkHasher struct {
	sum    hash.Hash
	filled int64 // bytes in the current piece
	hashes []Hash
}

// NewChunkHasher returns a ChunkHasher with nothing written.
func NewChunkHasher() *ChunkHasher { return &ChunkHasher{sum: sha256.New()} }

func (h *ChunkHasher) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(int64(len(p)), ChunkSize-h.filled)
		h.sum.Write(p[:k])
		h.filled += k
		p = p[k:]
		if h.filled == ChunkSize {
			h.cut()
		}
	}
	return n, nil
}

func (h *ChunkHasher) cut() {
	h.hashes = append(h.hashes, Hash(hex.EncodeToString(h.sum.Sum(nil))))
	h.sum.Reset()
	h.filled = 0
}

// Chunks returns the hashes of everything written so far, the last
// piece included however short. Call it once, at the end.
func (h *ChunkHasher) Chunks() Chunks {
	if h.filled > 0 {
		h.cut()
	}
	return Chunks{Size: ChunkSize, Hashes: h.hashes}
}
