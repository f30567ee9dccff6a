package blob

import (
	"bytes"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Copy moves every byte, across several fills of its buffer and through a
// reader that returns half of what it is asked for, in calls running at
// once (each has its own buffer from the pool), and returns a read error.
func TestCopy(t *testing.T) {
	var wg sync.WaitGroup
	for _, size := range []int{0, 1, smallCopy - 1, smallCopy, smallCopy + 1, 3*bigCopy + 123} {
		src := make([]byte, size)
		rand.Read(src)
		for range 2 {
			wg.Go(func() {
				var dst bytes.Buffer
				n, err := Copy(&dst, iotest.HalfReader(bytes.NewReader(src)))
				assert.NoError(t, err)
				assert.EqualValues(t, len(src), n)
				assert.True(t, bytes.Equal(src, dst.Bytes()), "the same %d bytes", size)
			})
		}
	}
	wg.Wait()
	_, err := Copy(&bytes.Buffer{}, iotest.ErrReader(iotest.ErrTimeout))
	assert.ErrorIs(t, err, iotest.ErrTimeout)
}

// sizes records the length of every Read asked of it.
type sizes struct {
	r    io.Reader
	asks []int
}

func (s *sizes) Read(p []byte) (int, error) {
	s.asks = append(s.asks, len(p))
	return s.r.Read(p)
}

// Into a file, too, Copy reads a megabyte at a time: an *os.File's
// ReadFrom would otherwise take over, with 32 KiB reads.
func TestCopyIntoAFileUsesItsBuffer(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	require.NoError(t, err)
	defer f.Close()
	src := &sizes{r: bytes.NewReader(make([]byte, 3*bigCopy))}
	n, err := Copy(f, src)
	require.NoError(t, err)
	assert.EqualValues(t, 3*bigCopy, n)
	assert.Equal(t, bigCopy, slices.Max(src.asks))
}

// A blob shorter than smallCopy goes through the small buffer only: no
// Read is asked for more, so no megabyte is taken from the pool for it.
func TestASmallBlobTakesNoBigBuffer(t *testing.T) {
	for _, size := range []int{0, 1, smallCopy - 1} {
		src := &sizes{r: bytes.NewReader(make([]byte, size))}
		n, err := Copy(io.Discard, src)
		require.NoError(t, err)
		assert.EqualValues(t, size, n)
		assert.LessOrEqual(t, slices.Max(src.asks), smallCopy, "a blob of %d bytes was read through a big buffer", size)
	}
}

// writes records the length of every Write.
type writes struct{ sizes []int }

func (w *writes) Write(p []byte) (int, error) { w.sizes = append(w.sizes, len(p)); return len(p), nil }

// From a file, too: an *os.File's WriteTo would take over.
func TestCopyFromAFileUsesItsBuffer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(path, make([]byte, 3*bigCopy), 0o644))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var w writes
	n, err := Copy(&w, f)
	require.NoError(t, err)
	assert.EqualValues(t, 3*bigCopy, n)
	assert.Equal(t, bigCopy, slices.Max(w.sizes))
}
