package filtertest

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// quick is the patience for filters that can never pass: they give no
// more output whatever the wait, so a short one decides just as surely.
const quick = 100 * time.Millisecond

// firstByteThenBlocks is a filter that looks as if it streams: it gives
// the first byte at once, then only ever reads its source in 256 KiB
// blocks, so the rest of a short first line waits for bytes that a stream
// has not sent yet.
func firstByteThenBlocks(src io.Reader) io.Reader {
	return &blocks{src: src}
}

type blocks struct {
	src     io.Reader
	started bool
	pending []byte
	err     error
}

func (b *blocks) Read(p []byte) (int, error) {
	if !b.started {
		b.started = true
		return b.src.Read(p[:1])
	}
	if len(b.pending) == 0 && b.err == nil {
		buf := make([]byte, 256<<10)
		n, err := io.ReadFull(b.src, buf)
		b.pending, b.err = buf[:n], err
	}
	if len(b.pending) == 0 {
		return 0, b.err
	}
	n := copy(p, b.pending)
	b.pending = b.pending[n:]
	return n, nil
}

// wholeBody reads the whole body before it gives anything.
func wholeBody(src io.Reader) io.Reader {
	all, err := io.ReadAll(src)
	if err != nil {
		return io.MultiReader(bytes.NewReader(all), errReader{err})
	}
	return bytes.NewReader(all)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// TestStreamsCatchesFiltersThatHoldTheLineBack shows that the streaming
// check needs the whole first line, not a first byte.
func TestStreamsCatchesFiltersThatHoldTheLineBack(t *testing.T) {
	line := "first line of a stream\n"
	same := func(s string) string { return s }

	err := streams(firstByteThenBlocks, line, line, quick)
	if assert.Error(t, err, "a filter that gives one byte and then waits for 256 KiB passed the streaming check") {
		assert.Contains(t, err.Error(), `only "f" had come out`)
	}
	assert.Error(t, streams(func(r io.Reader) io.Reader { return wholeBody(r) }, line, line, quick),
		"a filter that reads the whole body first passed the streaming check")
	assert.Error(t, streams(func(r io.Reader) io.Reader { return r }, line, strings.ToUpper(line), quick),
		"a filter whose first line is wrong passed the streaming check")

	// A wrong first line is reported as wrong, not as held back: a filter
	// that forgot the prefix of the first line gives all it will give at
	// once, and waiting for more would only blame the wrong thing.
	err = streams(func(r io.Reader) io.Reader { return r }, line, "> "+line, Patience)
	if assert.Error(t, err, "a filter that forgot the first line's prefix passed the streaming check") {
		assert.Contains(t, err.Error(), `came out as "first line of a stream\n", want "> first line of a stream\n"`)
		assert.NotContains(t, err.Error(), "holds output back")
	}

	assert.NoError(t, streams(func(r io.Reader) io.Reader { return r }, line, same(line), Patience),
		"a filter that passes bytes on as they come failed the streaming check")
}

// freshBufferPerRead passes its source on unchanged, keeping nothing, but
// allocates a new buffer for every read: memory that is garbage at once,
// yet grows with the body.
func freshBufferPerRead(src io.Reader) io.Reader { return &fresh{src: src} }

type fresh struct {
	src io.Reader
	out []byte
	err error
}

func (f *fresh) Read(p []byte) (int, error) {
	if len(f.out) == 0 {
		if f.err != nil {
			return 0, f.err
		}
		buf := make([]byte, len(p))
		n, err := f.src.Read(buf)
		f.out, f.err = buf[:n], err
	}
	n := copy(p, f.out)
	f.out = f.out[n:]
	return n, nil
}

// TestMemoryCheckNamesBothCauses shows that the memory check fails a
// filter that keeps the body and one that allocates afresh for every read,
// and that its message does not blame the second for keeping the body.
func TestMemoryCheckNamesBothCauses(t *testing.T) {
	const size = 4 << 20
	err := memoryStaysFlat(freshBufferPerRead, size)
	if assert.Error(t, err, "a filter that allocates a buffer for every read passed the memory check") {
		assert.Contains(t, err.Error(), "allocates a new buffer for each read")
		assert.Contains(t, err.Error(), "reuse")
	}
	assert.Error(t, memoryStaysFlat(wholeBody, size), "a filter that reads the whole body first passed the memory check")
	assert.NoError(t, memoryStaysFlat(func(r io.Reader) io.Reader { return r }, size),
		"a filter that passes its source on failed the memory check")
}
