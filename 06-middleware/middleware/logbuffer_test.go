package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/06-middleware/onion"
)

// writes records each Write call made to it. If failAfter is set, a
// Write takes only that many bytes and fails.
type writes struct {
	mu        sync.Mutex
	calls     []string
	failAfter int
	wrote     chan struct{} // if not nil, told of each Write
}

var errDiskFull = errors.New("disk full")

func (w *writes) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failAfter > 0 && len(p) > w.failAfter {
		w.calls = append(w.calls, string(p[:w.failAfter]))
		return w.failAfter, errDiskFull
	}
	w.calls = append(w.calls, string(p))
	if w.wrote != nil {
		w.wrote <- struct{}{}
	}
	return len(p), nil
}

func (w *writes) get() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.calls...)
}

func (w *writes) all() string { return strings.Join(w.get(), "") }

// line is a 10-byte log line.
func line(i int) []byte { return fmt.Appendf(nil, "line %04d\n", i) }

func write(t *testing.T, b *middleware.LogBuffer, i int) {
	t.Helper()
	n, err := b.Write(line(i))
	require.NoError(t, err)
	require.Equal(t, 10, n)
}

func TestLogBufferWritesInBatches(t *testing.T) {
	var out writes
	b := middleware.NewLogBuffer(&out, 35)
	for i := range 3 {
		write(t, b, i)
	}
	assert.Empty(t, out.get(), "three lines (30 bytes) fit in 35: nothing written yet")
	write(t, b, 3) // 40 bytes would not fit: the three go out in one write
	assert.Equal(t, []string{"line 0000\nline 0001\nline 0002\n"}, out.get())
	require.NoError(t, b.Flush())
	assert.Equal(t, []string{"line 0000\nline 0001\nline 0002\n", "line 0003\n"}, out.get())
	require.NoError(t, b.Flush())
	assert.Len(t, out.get(), 2, "a Flush with nothing waiting writes nothing")
}

// TestLogBufferHoldsExactlyItsSize: lines that fill the buffer to its
// last byte wait, and so does one line as long as the buffer; only a
// byte more goes out.
func TestLogBufferHoldsExactlyItsSize(t *testing.T) {
	var out writes
	b := middleware.NewLogBuffer(&out, 30)
	for i := range 3 {
		write(t, b, i)
	}
	assert.Empty(t, out.get(), "three lines of 10 bytes fill 30: they wait")

	one := middleware.NewLogBuffer(&out, 10)
	write(t, one, 4)
	assert.Empty(t, out.get(), "a line as long as the buffer waits")
	write(t, one, 5)
	assert.Equal(t, []string{"line 0004\n"}, out.get(), "the line before it goes out, and this one waits in its place")
}

// shortWriter takes half of each write and, against io.Writer's rule,
// says nothing of it.
type shortWriter struct{ writes }

func (w *shortWriter) Write(p []byte) (int, error) {
	w.writes.Write(p[:len(p)/2])
	return len(p) / 2, nil
}

// TestLogBufferReportsAShortWrite: an output that takes part of a write
// without an error is io.ErrShortWrite, and the rest waits for the next
// flush.
func TestLogBufferReportsAShortWrite(t *testing.T) {
	var out shortWriter
	b := middleware.NewLogBuffer(&out, 100)
	write(t, b, 1)
	assert.ErrorIs(t, b.Flush(), io.ErrShortWrite)
	assert.Equal(t, "line ", out.all())
}

func TestLogBufferOfSizeZeroWritesEachLine(t *testing.T) {
	var out writes
	b := middleware.NewLogBuffer(&out, 0)
	write(t, b, 1)
	write(t, b, 2)
	assert.Equal(t, []string{"line 0001\n", "line 0002\n"}, out.get())
}

func TestLogBufferWritesALongLineAfterTheOthers(t *testing.T) {
	var out writes
	b := middleware.NewLogBuffer(&out, 25)
	write(t, b, 1)
	long := strings.Repeat("x", 40) + "\n"
	_, err := b.Write([]byte(long))
	require.NoError(t, err)
	assert.Equal(t, []string{"line 0001\n", long}, out.get(), "what waited first, then the long line, at once")
}

func TestLogBufferSetSize(t *testing.T) {
	var out writes
	b := middleware.NewLogBuffer(&out, 0)
	write(t, b, 1)
	require.NoError(t, b.SetSize(100))
	write(t, b, 2)
	write(t, b, 3)
	assert.Equal(t, []string{"line 0001\n"}, out.get(), "after SetSize(100), lines wait")
	require.NoError(t, b.SetSize(0))
	assert.Equal(t, []string{"line 0001\n", "line 0002\nline 0003\n"}, out.get(), "SetSize writes what waits first")
	write(t, b, 4)
	assert.Len(t, out.get(), 3, "after SetSize(0), each line at once")
}

// A write that fails part way loses nothing that was taken: the bytes it
// did not write are written by the next flush, and a line that could not
// be taken is refused with the error, not dropped in silence.
func TestLogBufferKeepsWhatAFailedWriteLeft(t *testing.T) {
	out := writes{failAfter: 15}
	b := middleware.NewLogBuffer(&out, 25)
	write(t, b, 1)
	write(t, b, 2)
	_, err := b.Write(line(3)) // does not fit: the flush writes 15 of the 20 bytes and fails
	require.ErrorIs(t, err, errDiskFull, "line 3 is refused with the error")
	assert.Equal(t, "line 0001\nline ", out.all())
	require.NoError(t, b.Flush(), "the 5 bytes left are written next")
	assert.Equal(t, "line 0001\nline 0002\n", out.all(), "every byte taken, once, in order")
	write(t, b, 3) // fits now
	require.NoError(t, b.Flush())
	assert.Equal(t, "line 0001\nline 0002\nline 0003\n", out.all())
}

// FlushEvery flushes at each tick, and once more when its context ends.
func TestLogBufferFlushEvery(t *testing.T) {
	out := writes{wrote: make(chan struct{}, 10)}
	b := middleware.NewLogBuffer(&out, 1000)
	tick := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.FlushEvery(ctx, tick); close(done) }()

	write(t, b, 1)
	assert.Empty(t, out.get(), "before a tick, a line waits")
	tick <- time.Time{}
	<-out.wrote
	assert.Equal(t, []string{"line 0001\n"}, out.get(), "flushed at the tick")
	write(t, b, 2)
	assert.Len(t, out.get(), 1, "until the next tick, a line waits")
	cancel()
	<-done
	assert.Equal(t, []string{"line 0001\n", "line 0002\n"}, out.get(), "flushed when the context ended")
}

// Lines written from many goroutines while ticks flush come out whole,
// each once (run with -race).
func TestLogBufferConcurrent(t *testing.T) {
	var out writes
	b := middleware.NewLogBuffer(&out, 64)
	tick := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.FlushEvery(ctx, tick); close(done) }()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 250 {
				_, err := b.Write(line(g*1000 + i))
				assert.NoError(t, err)
				if i%50 == 0 {
					tick <- time.Time{}
				}
			}
		})
	}
	wg.Wait()
	cancel()
	<-done
	got := strings.Split(strings.TrimSuffix(out.all(), "\n"), "\n")
	var want []string
	for g := range 4 {
		for i := range 250 {
			want = append(want, strings.TrimSuffix(string(line(g*1000+i)), "\n"))
		}
	}
	assert.ElementsMatch(t, want, got)
	for _, c := range out.get() {
		assert.True(t, strings.HasSuffix(c, "\n"), "a write of part of a line: %q", c)
	}
}

// TextHandler lets access lines wait in a LogBuffer and writes every
// other line at once, after them: a warning is never held back, nor
// written before the requests logged ahead of it.
func TestTextHandlerFlushesAllButAccessLines(t *testing.T) {
	var out writes
	buf := middleware.NewLogBuffer(&out, 64<<10)
	logger := slog.New(middleware.NewTextHandler(buf, nil))
	h := onion.Chain{middleware.AccessLog(logger)}.Then(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	get(h, "/one")
	get(h, "/two")
	assert.Empty(t, out.get(), "access lines wait in the buffer")
	logger.Warn("backend down", "backend", "A")
	calls := out.get()
	require.Len(t, calls, 1, "the warning and the lines before it, in one write")
	lines := strings.Split(strings.TrimSuffix(calls[0], "\n"), "\n")
	require.Len(t, lines, 3)
	assert.Contains(t, lines[0], "path=/one")
	assert.Contains(t, lines[1], "path=/two")
	assert.Contains(t, lines[2], "level=WARN msg=\"backend down\" backend=A")
	logger.Info("reloaded")
	assert.Len(t, out.get(), 2, "any line that is not an access line is written at once")
	assert.Contains(t, out.get()[1], "msg=reloaded")
}
