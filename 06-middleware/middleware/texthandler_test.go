package middleware_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/middleware"
)

type valuer struct{ v string }

func (v valuer) LogValue() slog.Value { return slog.GroupValue(slog.String("inner", v.v)) }

type namedBytes []byte

type nilErr struct{ msg string }

func (e *nilErr) Error() string { return e.msg }

type badText struct{}

func (badText) MarshalText() ([]byte, error) { return nil, errors.New("no text") }

type panicText struct{}

func (panicText) MarshalText() ([]byte, error) { panic("no text at all") }

// TestTextHandlerMatchesSlog logs the same records through
// slog.TextHandler and middleware.TextHandler and wants the same bytes:
// every kind of value, quoting, groups, WithAttrs and WithGroup.
func TestTextHandlerMatchesSlog(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	at := time.Date(2025, 3, 4, 5, 6, 7, 890123456, time.UTC)
	var nilPtr *nilErr
	records := []struct {
		name  string
		time  time.Time
		level slog.Level
		msg   string
		attrs []slog.Attr
	}{
		{"access line", at, slog.LevelInfo, "request", []slog.Attr{
			slog.String("method", "GET"), slog.String("path", "/api/x"), slog.Int("status", 200),
			slog.Int64("bytes", 12345), slog.Duration("duration", 1234567*time.Nanosecond),
			slog.String("upstream", "127.0.0.1:9001"), slog.String("request_id", "0123abcd"), slog.String("client", ""),
		}},
		{"no time", time.Time{}, slog.LevelWarn + 2, "", nil},
		{"other zone and levels", at.In(paris), slog.LevelDebug - 1, "two words", nil},
		{"same second, other millisecond", at.Add(5 * time.Millisecond), slog.LevelError, "x=y", nil},
		{"milliseconds that are zero", time.Date(2025, 1, 1, 0, 0, 0, 999_999, time.UTC), slog.LevelInfo, "m", nil},
		{"year out of range", time.Date(12025, 1, 1, 0, 0, 0, 999_999_999, time.UTC), slog.LevelInfo, "m", nil},
		{"last year in range", time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC), slog.LevelInfo, "m", nil},
		{"first year past it", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), slog.LevelInfo, "m", nil},
		{"year 0", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), slog.LevelInfo, "m", nil},
		{"year -1", time.Date(-1, 12, 31, 23, 59, 59, 0, time.UTC), slog.LevelInfo, "m", nil},
		{"quoting", at, slog.LevelInfo, "q", []slog.Attr{
			slog.String("empty", ""), slog.String("space", "a b"), slog.String("eq", "a=b"),
			slog.String("quote", `a"b`), slog.String("backslash", `a\b`), slog.String("newline", "a\nb"),
			slog.String("tab", "a\tb"), slog.String("del", "a\x7fb"), slog.String("unicode", "café→ok"),
			slog.String("nbsp", "a\u00a0b"), slog.String("invalid", "a\xffb"), slog.String("key with space", "v"),
			slog.String("", "empty key"), slog.String("zwsp", "a\u200bb"),
		}},
		{"kinds", at, slog.LevelInfo, "k", []slog.Attr{
			slog.Int("neg", -42), slog.Uint64("u", 1<<63), slog.Float64("f", 3.25), slog.Float64("big", 1e21),
			slog.Bool("b", true), slog.Time("t", at.In(paris)), slog.Duration("d", 0),
			slog.Any("err", errors.New("boom: it broke")), slog.Any("nilptr", nilPtr),
			slog.Any("bytes", []byte("raw")), slog.Any("named", namedBytes("nb")),
			slog.Any("ip", net.IPv4(10, 0, 0, 1)), slog.Any("badtext", badText{}), slog.Any("niltext", (*badText)(nil)),
			slog.Any("panictext", panicText{}),
			slog.Any("struct", struct{ A, B int }{1, 2}), slog.Any("nil", nil),
			slog.Any("valuer", valuer{"v"}), slog.Any("src", &slog.Source{File: "f.go", Line: 3}),
			slog.Any("nosrc", &slog.Source{}), {},
		}},
		{"groups", at, slog.LevelInfo, "g", []slog.Attr{
			slog.Group("req", slog.String("method", "GET"), slog.Group("u", slog.String("path", "/"))),
			slog.Group("empty"), slog.Group("", slog.Int("inlined", 1)), slog.Group("sp ace", slog.Int("k", 1)),
		}},
	}
	derive := []struct {
		name string
		f    func(slog.Handler) slog.Handler
	}{
		{"plain", func(h slog.Handler) slog.Handler { return h }},
		{"with attrs", func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.String("svc", "gw"), slog.Int("n", 1)}).WithAttrs(nil)
		}},
		{"with groups", func(h slog.Handler) slog.Handler {
			return h.WithGroup("outer").WithGroup("in")
		}},
		{"with group and attrs", func(h slog.Handler) slog.Handler {
			return h.WithGroup("outer").WithAttrs([]slog.Attr{slog.String("a", "1")}).WithGroup("in")
		}},
		{"sibling of a handler with attrs", func(h slog.Handler) slog.Handler {
			parent := h.WithAttrs([]slog.Attr{slog.String("svc", "gw")}).WithAttrs([]slog.Attr{slog.Int("n", 1)})
			first := parent.WithAttrs([]slog.Attr{slog.Int("s", 1)})
			parent.WithAttrs([]slog.Attr{slog.Int("s", 2)}) // must leave first's attributes alone
			return first
		}},
		// Not compared: WithGroup(""). slog.Handler's contract says it
		// returns the receiver, as TextHandler's does and slog.Logger's;
		// slog.TextHandler's own opens an empty group ("outer..in.key").
	}
	for _, d := range derive {
		for _, rc := range records {
			t.Run(d.name+"/"+rc.name, func(t *testing.T) {
				var want, got bytes.Buffer
				r := slog.NewRecord(rc.time, rc.level, rc.msg, 0)
				r.AddAttrs(rc.attrs...)
				opts := &slog.HandlerOptions{Level: slog.LevelDebug - 4}
				require.NoError(t, d.f(slog.NewTextHandler(&want, opts)).Handle(context.Background(), r))
				require.NoError(t, d.f(middleware.NewTextHandler(&got, opts.Level)).Handle(context.Background(), r))
				if diff := cmp.Diff(want.String(), got.String()); diff != "" {
					t.Errorf("line (-slog.TextHandler +middleware.TextHandler):\n%s", diff)
				}
			})
		}
	}
}

func TestTextHandlerLevels(t *testing.T) {
	h := middleware.NewTextHandler(nil, nil)
	assert.False(t, h.Enabled(context.Background(), slog.LevelDebug), "nil level means Info")
	assert.True(t, h.Enabled(context.Background(), slog.LevelInfo))
	var lv slog.LevelVar
	lv.Set(slog.LevelError)
	h = middleware.NewTextHandler(nil, &lv)
	assert.False(t, h.Enabled(context.Background(), slog.LevelWarn))
	lv.Set(slog.LevelWarn)
	assert.True(t, h.Enabled(context.Background(), slog.LevelWarn), "a LevelVar is read at every line")
}

// lockedWriter fails the test if two Writes overlap.
type lockedWriter struct {
	mu    sync.Mutex
	busy  bool
	lines bytes.Buffer
	t     *testing.T
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.busy {
		w.t.Error("two Writes at once")
	}
	w.busy = true
	w.lines.Write(p)
	w.busy = false
	w.mu.Unlock()
	return len(p), nil
}

func TestTextHandlerWritesWholeLinesConcurrently(t *testing.T) {
	w := &lockedWriter{t: t}
	base := slog.New(middleware.NewTextHandler(w, nil))
	derived := base.With("from", "derived")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				l := base
				if i%2 == 0 {
					l = derived
				}
				l.Info("request", "g", g, "i", i, "path", strings.Repeat("p", 100*g))
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(w.lines.String(), "\n"), "\n")
	require.Len(t, lines, 800)
	seen := map[string]bool{}
	for _, l := range lines {
		var g, i int
		_, err := fmt.Sscanf(l[strings.Index(l, " g="):], " g=%d i=%d", &g, &i)
		require.NoError(t, err, l)
		seen[fmt.Sprint(g, i)] = true
		assert.Equal(t, i%2 == 0, strings.Contains(l, " from=derived "), l)
	}
	assert.Len(t, seen, 800, "every line once")
}
