package middleware

import (
	"context"
	"io"
	"sync"
	"time"
)

// LogBuffer is an io.Writer that collects log lines and writes them to
// its output in batches, as nginx's access_log does with buffer= and
// flush=. An access log writes a line per request, and each line written
// on its own is a system call: under load, one of the few a proxied
// request makes. Batched, hundreds of lines cost one.
//
// A line waits until the buffer is full, until the next tick of
// FlushEvery, or until Flush: so a program that uses one flushes it when
// it stops, and the lines of the last interval are lost only if the
// process dies without stopping (a crash, SIGKILL), the price nginx's
// buffer has too. TextHandler flushes it after every line that is not an
// access line (a warning, an error), so those are written at once, after
// the access lines logged before them.
//
// With a size of 0, the default, it writes each line at once.
type LogBuffer struct {
	mu  sync.Mutex
	out io.Writer
	buf []byte // the lines waiting; cap(buf) is the size
}

// NewLogBuffer returns a LogBuffer writing to out, collecting up to size
// bytes (0: none, each line is written at once).
func NewLogBuffer(out io.Writer, size int) *LogBuffer {
	return &LogBuffer{out: out, buf: make([]byte, 0, max(size, 0))}
}

// SetSize writes what is waiting and makes the buffer size bytes: a
// program creates its log before it has read the size from its
// configuration.
func (b *LogBuffer) SetSize(size int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.flush(); err != nil {
		return err
	}
	b.buf = make([]byte, 0, max(size, 0))
	return nil
}

// Write adds p, one or more whole lines, to the buffer, after writing
// what is waiting if p does not fit beside it. A p larger than the buffer
// is written at once. If writing what waits fails, p is not taken and the
// error is returned; what was not written stays, for the next try.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf)+len(p) > cap(b.buf) {
		if err := b.flush(); err != nil {
			return 0, err
		}
		if len(p) > cap(b.buf) {
			return b.out.Write(p)
		}
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// Flush writes the lines waiting.
func (b *LogBuffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flush()
}

// flush writes b.buf; b.mu is held. The bytes a failed write did not
// take stay at the front of the buffer.
func (b *LogBuffer) flush() error {
	if len(b.buf) == 0 {
		return nil
	}
	n, err := b.out.Write(b.buf)
	if err == nil && n < len(b.buf) {
		err = io.ErrShortWrite
	}
	b.buf = b.buf[:copy(b.buf, b.buf[n:])]
	return err
}

// FlushEvery flushes the buffer at each tick, and once more when ctx is
// done, then returns: run it in a goroutine with a time.Ticker's channel
// (a test sends its own ticks).
func (b *LogBuffer) FlushEvery(ctx context.Context, tick <-chan time.Time) {
	defer b.Flush()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			b.Flush()
		}
	}
}
