// Package filtertest checks a response-body filter (a func(io.Reader)
// io.Reader, as rewrite.Options.Transform takes): that it gives the right
// output however its input is cut into reads, that it streams rather than
// waiting for the end of the body, that it passes errors on, and that its
// memory does not grow with the body. The course runs it on rewrite.Upper
// and rewrite.Replace; run it on your own filter with Run.
package filtertest

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

// Filter is a body filter.
type Filter func(io.Reader) io.Reader

// Run checks that filter turns every input into want(input). The inputs
// are a few fixed texts, random texts over alphabet (pick one rich in the
// bytes your filter cares about, such as "fo ba" for a filter that
// replaces "foo"), and extra.
//
// Run measures allocation for its last check, so do not call t.Parallel
// in tests that run at the same time.
func Run(t *testing.T, filter Filter, want func(string) string, alphabet string, extra ...string) {
	inputs := append([]string{
		"",
		"a",
		"Hello from backend A\n",
		"line 1 of 3\nline 2 of 3\nline 3 of 3\n",
		strings.Repeat("abcdefghijklmnopqrstuvwxyz", 5000), // larger than one read
	}, extra...)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		b := make([]byte, rng.IntN(200))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		inputs = append(inputs, string(b))
	}

	t.Run("output is right however the input is cut into reads", func(t *testing.T) {
		cuts := []struct {
			name string
			wrap func(io.Reader) io.Reader
		}{
			{"whole", func(r io.Reader) io.Reader { return r }},
			{"one byte at a time", iotest.OneByteReader},
			{"half of each read", iotest.HalfReader},
			{"EOF with the last bytes", iotest.DataErrReader},
		}
		for _, c := range cuts {
			for _, in := range inputs {
				got, err := io.ReadAll(filter(c.wrap(strings.NewReader(in))))
				if err != nil {
					t.Fatalf("%s: filtering %.40q: %v", c.name, in, err)
				}
				if w := want(in); string(got) != w {
					t.Fatalf("%s: filtering %.40q (%d bytes) gave %.40q (%d bytes), want %.40q (%d bytes)",
						c.name, in, len(in), got, len(got), w, len(w))
				}
			}
		}
	})

	t.Run("passes on the error of its source", func(t *testing.T) {
		boom := errors.New("backend connection reset")
		r := filter(io.MultiReader(strings.NewReader("some text\n"), iotest.ErrReader(boom)))
		if _, err := io.ReadAll(r); !errors.Is(err, boom) {
			t.Errorf("reading a body whose source fails gave error %v, want %v", err, boom)
		}
	})

	t.Run("gives the whole first line before the body ends", func(t *testing.T) {
		line := "first line of a stream\n"
		if err := streams(filter, line, want(line), Patience); err != nil {
			t.Error(err)
		}
	})

	t.Run("memory does not grow with the body", func(t *testing.T) {
		if err := memoryStaysFlat(filter, 16<<20); err != nil {
			t.Error(err)
		}
	})
}

// memoryStaysFlat filters a body of size bytes and returns an error if
// that allocated more than size/8 bytes of heap in all.
func memoryStaysFlat(filter Filter, size int64) error {
	var copyErr error
	allocated := bytesAllocated(func() {
		_, copyErr = io.Copy(io.Discard, filter(io.LimitReader(repeat("Hello from backend A\n"), size)))
	})
	if copyErr != nil {
		return fmt.Errorf("filtering a %d MiB body: %w", size>>20, copyErr)
	}
	if allocated > uint64(size/8) {
		// Allocated in all, not held at once: a filter that keeps nothing
		// but allocates a new buffer for each read grows as surely.
		return fmt.Errorf("filtering a %d MiB body allocated %d KiB, more than %d KiB: the filter's memory grows with the body; "+
			"either it keeps the body in memory, or it allocates a new buffer for each read or line (keep one and reuse it)",
			size>>20, allocated>>10, size/8>>10)
	}
	return nil
}

// Patience is how long the streaming check waits for the filtered first
// line. A streaming filter gives it at once; reaching the deadline means
// the filter holds it back, not that the machine is slow.
const Patience = 5 * time.Second

// streams feeds the filter a first line through a pipe that stays open,
// as a stream's body does between events, and waits up to patience for
// the whole filtered line (want) to come out. One byte is not enough: a
// filter that gives the first byte at once and then waits to fill a large
// buffer stalls a stream as surely as one that waits for the end. Output
// that is not a start of want ends the wait at once: that filter is wrong,
// not slow, and must not be reported as holding the line back.
func streams(filter Filter, line, want string, patience time.Duration) error {
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write([]byte(line)) //nolint:errcheck // what comes out is what matters

	var (
		mu  sync.Mutex
		got []byte // what the filter has given so far
	)
	done := make(chan error, 1)
	go func() {
		r := filter(pr)
		buf := make([]byte, 64)
		for {
			n, err := r.Read(buf)
			mu.Lock()
			got = append(got, buf[:n]...)
			enough := len(got) >= len(want) || !strings.HasPrefix(want, string(got))
			mu.Unlock()
			if enough || err != nil {
				done <- err
				return
			}
		}
	}()

	timer := time.NewTimer(patience)
	defer timer.Stop()
	select {
	case err := <-done:
		mu.Lock()
		defer mu.Unlock()
		n := min(len(got), len(want))
		switch {
		case string(got[:n]) != want[:n]:
			return fmt.Errorf("the first line %q came out as %q, want %q", line, got[:n], want)
		case len(got) < len(want):
			return fmt.Errorf("reading the first line %q gave %q and then error %v", line, got, err)
		}
		return nil
	case <-timer.C:
		mu.Lock()
		sofar := string(got)
		mu.Unlock()
		pr.CloseWithError(errors.New("test over")) // stop the filter's reading
		return fmt.Errorf("the first line %q went in, but after %v only %q had come out (want %q) while the body stayed open: "+
			"the filter holds output back until more input or the end of the body, so streams and server-sent events stall",
			line, patience, sofar, want)
	}
}

// bytesAllocated returns how many bytes of heap f allocated.
func bytesAllocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// repeat is an endless reader of s that allocates nothing.
type repeat string

func (s repeat) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], s)
	}
	return n, nil
}
