package middleware

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// TestWriteAccessMatchesSlog checks AccessLog's fast path: the line
// TextHandler.writeAccess writes is the one slog.TextHandler writes for the
// same line's slog.Record, byte for byte, whatever the values (quoting,
// empty strings, durations, times) and however the handler was derived.
func TestWriteAccessMatchesSlog(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 890123456, time.UTC)
	lines := []struct {
		name string
		time time.Time
		line accessLine
	}{
		{"typical", at, accessLine{"GET", "/api/x", 200, 12345, 1234567 * time.Nanosecond, "127.0.0.1:9001", "0123abcd", "alice", "192.0.2.1", false}},
		{"aborted", at, accessLine{"GET", "/stream", 200, 4096, time.Second, "A", "id", "", "2001:db8::1", true}},
		{"nothing upstream, no client", at, accessLine{"GET", "/", 404, 0, 0, "", "id", "", "", false}},
		{"quoting", at.In(time.FixedZone("CET", 3600)), accessLine{"M E", `/a b/"q"/c=d/é/a` + "\xff\n", 500, 1 << 40, 2*time.Hour + 3*time.Second, "a b", "", `x"y`, "fe80::1%eth0", false}},
		{"odd durations and statuses", at, accessLine{"POST", "/p", 0, -1, -1500 * time.Nanosecond, "A", "z", "c", "@", false}},
		{"year out of range", time.Date(12025, 1, 1, 0, 0, 0, 0, time.UTC), accessLine{"GET", "/", 999, 1, time.Nanosecond, "A", "i", "c", "10.0.0.1", false}},
	}
	derive := []struct {
		name string
		f    func(slog.Handler) slog.Handler
	}{
		{"plain", func(h slog.Handler) slog.Handler { return h }},
		{"with attrs", func(h slog.Handler) slog.Handler { return h.WithAttrs([]slog.Attr{slog.String("svc", "gw")}) }},
		{"with group", func(h slog.Handler) slog.Handler { return h.WithGroup("http") }},
		{"with a group to quote", func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.Int("n", 1)}).WithGroup("sp ace")
		}},
	}
	for _, d := range derive {
		for _, l := range lines {
			t.Run(d.name+"/"+l.name, func(t *testing.T) {
				var want, got bytes.Buffer
				require.NoError(t, d.f(slog.NewTextHandler(&want, nil)).Handle(context.Background(), l.line.record(l.time)))
				require.NoError(t, d.f(NewTextHandler(&got, nil)).(*TextHandler).writeAccess(l.time, &l.line))
				if diff := cmp.Diff(want.String(), got.String()); diff != "" {
					t.Errorf("line (-slog.TextHandler +writeAccess):\n%s", diff)
				}
			})
		}
	}
}

// TestRemoteIP checks the access line's remote_addr: RemoteAddr without
// its port, IPv6 without brackets, and whole when it has no port (a Unix
// socket's "@"), sliced from RemoteAddr without allocating.
func TestRemoteIP(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.1:5000":    "192.0.2.1",
		"[2001:db8::1]:443": "2001:db8::1",
		"[fe80::1%eth0]:80": "fe80::1%eth0",
		"@":                 "@",
		"":                  "",
		"2001:db8::1":       "2001:db8::1",
		"192.0.2.1":         "192.0.2.1",
	} {
		require.Equal(t, want, remoteIP(addr), "remoteIP(%q)", addr)
	}
	addr := "[2001:db8::1]:443"
	require.Zero(t, testing.AllocsPerRun(100, func() { _ = remoteIP(addr) }))
}

// TestAnAccessLineAllocatesNothing: an access line is formatted in a
// pooled buffer and written from it, its time from the cached second, so
// the line itself costs no allocation (under -race the pool drops a
// quarter of what is put back, which AllocsPerRun's truncated average
// does not show).
func TestAnAccessLineAllocatesNothing(t *testing.T) {
	h := NewTextHandler(io.Discard, nil)
	at := time.Date(2025, 3, 4, 5, 6, 7, 890123456, time.UTC)
	l := accessLine{"GET", "/api/x", 200, 12345, 1234567 * time.Nanosecond, "127.0.0.1:9001", "0123abcd", "alice", "192.0.2.1", false}
	allocs := testing.AllocsPerRun(1000, func() { require.NoError(t, h.writeAccess(at, &l)) })
	require.Equal(t, 0.0, allocs)
}
