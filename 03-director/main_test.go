package main

import (
	"context"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/deadaddr"
	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/01-backends/transcript"
	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/02-single-proxy/proxytest"
)

// TestRunTranscript replays the chapter's "Run it" session: every route,
// with the program's own backend.
func TestRunTranscript(t *testing.T) {
	transcript.Check(t, "testdata/run.txt", run, "-listen", "127.0.0.1:0")
}

// TestDownTranscript replays the session with a backend that is not
// running: 502 with the reason, from both versions.
func TestDownTranscript(t *testing.T) {
	transcript.Check(t, "testdata/down.txt", run, "-listen", "127.0.0.1:0", "-targets", deadaddr.URL(t))
}

// TestTryDelayIsATimeout checks the printed /api/delay line: slower than
// -timeout, so that it shows a 504, and never slower than the demo
// backend's MaxDelay, which would be a 400.
func TestTryDelayIsATimeout(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // print what was started, then stop at once
	for _, tc := range []struct {
		timeout, want string
	}{
		{"1s", "/api/delay/2s\n"},
		{"20s", "/api/delay/30s\n"},
		{"30s", ""}, // no delay the backend allows is slower than -timeout
	} {
		var out strings.Builder
		require.NoError(t, run(ctx, []string{"-listen", "127.0.0.1:0", "-timeout", tc.timeout}, &out))
		_, delay, _ := strings.Cut(out.String(), "/api/delay/")
		if delay != "" {
			delay = "/api/delay/" + delay[:strings.Index(delay, "\n")+1]
		}
		assert.Equal(t, tc.want, delay, "-timeout %s", tc.timeout)
	}
}

func TestBadFlagsStopStartUp(t *testing.T) {
	// Held by another listener: a program that listened before it checked
	// its flags would report a busy port.
	busy, err := serve.Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	for _, tc := range []struct {
		name    string
		args    []string
		wantMsg string
		badURL  bool
	}{
		{"empty target list", []string{"-targets", ""}, "the list is empty", true},
		{"no scheme", []string{"-targets", "127.0.0.1:9001"}, `"127.0.0.1:9001"`, true},
		{"unparsable", []string{"-targets", "http://[::1"}, `"http://[::1"`, true},
		{"no host", []string{"-targets", "http://"}, "no host", true},
		{"bad timeout", []string{"-timeout", "0s"}, "want a positive duration", false},
		{"the proxy itself", []string{"-targets", "http://" + busy.Addr().String()}, "the proxy's own address", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-listen", busy.Addr().String()}, tc.args...)
			err := run(context.Background(), args, io.Discard)
			var usage *serve.UsageError
			require.ErrorAs(t, err, &usage, "a bad flag must be a usage error (exit 2)")
			assert.ErrorContains(t, err, tc.wantMsg)
			assert.Equal(t, tc.badURL, errors.Is(err, proxy.ErrBadTarget), "errors.Is(err, proxy.ErrBadTarget)")
		})
	}
}

// The program closes the connection after a chunked request, so that a
// request smuggled after its last chunk reaches no backend (chapter 02):
// /api/ here, but FramingHandler wraps every route.
func TestRunServesNoSmuggledRequest(t *testing.T) {
	proxytest.CheckSmuggling(t, func(t *testing.T, target *url.URL) string {
		return proxytest.Start(t, run, "-listen", "127.0.0.1:0", "-targets", target.String()) + "/api"
	})
}
