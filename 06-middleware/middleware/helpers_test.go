package middleware_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// do sends req through h and returns the recorded response.
func do(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func get(h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(h, req)
}

// ok is a handler that answers 200 "ok" and counts its calls.
type ok struct {
	mu    sync.Mutex
	calls int
}

func (h *ok) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.calls++
	h.mu.Unlock()
	io.WriteString(w, "ok")
}

func (h *ok) Calls() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls
}

// clock is a fake clock that moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// manualDeadline is a deadline that passes when the test calls pass, not
// when a clock says. Served through withManualDeadline, a Timeout layer
// further in, given a long d, inherits it: its context then ends with
// DeadlineExceeded at that moment, and the test can order it after what
// the handler must do first (a hijack, a flush), however slow the machine.
type manualDeadline struct {
	done chan struct{}
	pass func()
}

func newManualDeadline() *manualDeadline {
	d := &manualDeadline{done: make(chan struct{})}
	d.pass = sync.OnceFunc(func() { close(d.done) })
	return d
}

// withManualDeadline serves h with the request's context under d.
func withManualDeadline(d *manualDeadline, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(deadlineContext{r.Context(), d.done}))
	})
}

// deadlineContext is a context (its values, the request's) that ends when
// done is closed, with DeadlineExceeded.
type deadlineContext struct {
	context.Context
	done chan struct{}
}

func (c deadlineContext) Done() <-chan struct{} { return c.done }

func (c deadlineContext) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// logBuffer is a slog JSON log the test can read back, line by line.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) Logger() *slog.Logger { return slog.New(slog.NewJSONHandler(b, nil)) }

// Entries decodes every line of the log.
func (b *logBuffer) Entries(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		out = append(out, m)
	}
	return out
}

// ids returns a generator of the ids id-1, id-2, ...
func ids() func() string {
	var mu sync.Mutex
	n := 0
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return "id-" + string(rune('0'+n))
	}
}
