package proxytest

import (
	"bytes"
	"log"
	"log/slog"
	"sync"
	"testing"
)

// Log is what CaptureLog collected: the default logger's lines, as slog's
// text handler writes them, without the time. The proxy's goroutines write
// it while the test reads it, hence the lock.
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns every line logged so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// CaptureLog sends the default slog logger's records to the returned Log
// until the test ends: the proxies of chapters 02 to 04 log their
// failures there. slog.SetDefault also points the log package at the new
// handler, so its output and flags are put back too. The default logger
// belongs to the whole process: a test that captures it must not run in
// parallel with another that logs.
func CaptureLog(t testing.TB) *Log {
	t.Helper()
	logged := new(Log)
	old, oldOut, oldFlags := slog.Default(), log.Writer(), log.Flags()
	slog.SetDefault(slog.New(slog.NewTextHandler(logged, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	})))
	t.Cleanup(func() {
		slog.SetDefault(old)
		log.SetOutput(oldOut)
		log.SetFlags(oldFlags)
	})
	return logged
}
