package transcript

import (
	"strings"
	"sync"
)

// LineWriter is an io.Writer for a program's output that hands each
// complete line to the channel Lines, so a test can wait for the line it
// needs (an address, say) instead of polling. A write blocks while Lines
// is full: give it room for every line the test does not read.
type LineWriter struct {
	Lines chan string

	mu      sync.Mutex
	partial string
}

// NewLineWriter returns a LineWriter whose channel holds up to room lines.
func NewLineWriter(room int) *LineWriter {
	return &LineWriter{Lines: make(chan string, room)}
}

func (w *LineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial += string(p)
	for {
		line, rest, ok := strings.Cut(w.partial, "\n")
		if !ok {
			return len(p), nil
		}
		w.Lines <- line
		w.partial = rest
	}
}
