package main

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/01-backends/deadaddr"
	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/01-backends/transcript"
	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/02-single-proxy/proxytest"
)

// TestRunTranscript replays the chapter's "Run it" session: with seed 2
// the picks are A, C, B, B, A, C, then B for /health.
func TestRunTranscript(t *testing.T) {
	transcript.Check(t, "testdata/run.txt", run, "-listen", "127.0.0.1:0")
}

// TestDownTranscript replays the session with one target down: the picks
// that fall on it are 502s that say why; the others are served.
func TestDownTranscript(t *testing.T) {
	a := httptest.NewServer(backend.New("A"))
	defer a.Close()
	transcript.Check(t, "testdata/down.txt", run, "-listen", "127.0.0.1:0", "-targets", a.URL+","+deadaddr.URL(t))
}

// TestBadTargetsStopStartUp: every -targets URL is checked before a port
// is opened. The -listen address is one another listener holds: a program
// that listened first would report the busy port instead.
func TestBadTargetsStopStartUp(t *testing.T) {
	busy, err := serve.Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	for _, tc := range []struct {
		name, targets, wantMsg string
	}{
		{"empty list", "", "the list is empty"},
		{"only commas", ",", "empty"},
		{"no scheme", "http://127.0.0.1:9001,127.0.0.1:9002", `"127.0.0.1:9002"`},
		{"unparsable", "http://127.0.0.1:9001,http://[::1", `"http://[::1"`},
		{"not http", "ftp://127.0.0.1:21", `"ftp://127.0.0.1:21"`},
		{"port but no host", "http://127.0.0.1:9001,http://:9002", `"http://:9002": no host`},
		{"the proxy itself", "http://127.0.0.1:9001,http://" + busy.Addr().String(), "the proxy's own address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Already cancelled: should the list be accepted by mistake,
			// run starts and stops at once, and the test fails instead of
			// serving until it times out.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			err := run(ctx, []string{"-listen", busy.Addr().String(), "-targets", tc.targets}, io.Discard)
			var usage *serve.UsageError
			require.ErrorAs(t, err, &usage, "a bad -targets must be a usage error (exit 2)")
			assert.ErrorContains(t, err, "-targets: ")
			assert.ErrorContains(t, err, tc.wantMsg)
			assert.True(t, errors.Is(err, proxy.ErrBadTarget), "errors.Is(%v, proxy.ErrBadTarget)", err)
		})
	}
}

// The program closes the connection after a chunked request, so that a
// request smuggled after its last chunk reaches no backend (chapter 02).
func TestRunServesNoSmuggledRequest(t *testing.T) {
	proxytest.CheckSmuggling(t, func(t *testing.T, target *url.URL) string {
		return proxytest.Start(t, run, "-listen", "127.0.0.1:0", "-targets", target.String())
	})
}
