package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/01-backends/transcript"
	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/02-single-proxy/proxytest"
)

// The chapter's "Run it" transcripts are what the program prints: each
// test runs the program and replays every curl command.
func TestRunTranscript(t *testing.T) {
	t.Run("demo backend", func(t *testing.T) {
		transcript.Check(t, "testdata/run.txt", run, "-listen", "127.0.0.1:0")
	})
	t.Run("backend of go run ./01-backends", func(t *testing.T) {
		// Stands in for go run ./01-backends: the same backend A, on a free port.
		var g serve.Group
		urls, err := backend.Listen(&g, []string{"127.0.0.1:0"})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- g.Run(ctx) }()
		defer func() { cancel(); <-done }()

		transcript.Check(t, "testdata/target.txt", run, "-listen", "127.0.0.1:0", "-target", urls[0])
	})
	t.Run("backend down", func(t *testing.T) {
		transcript.Check(t, "testdata/down.txt", run, "-listen", "127.0.0.1:0", "-target", proxytest.DeadTarget(t).String())
	})
}

// A bad -target stops the program before it listens, with a usage error
// (exit status 2) that says what is wrong. The -listen address is one
// another listener holds: a program that listened first would report
// the busy port instead.
func TestRunRejectsABadTarget(t *testing.T) {
	busy, err := serve.Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	tests := []struct{ target, reason string }{
		{"", "-target: bad target URL: empty"},
		{"127.0.0.1:9001", "no scheme; did you mean http://127.0.0.1:9001?"},
		{"http://[::1", "missing ']' in host"},
		{"ftp://127.0.0.1:9001", "want a URL that starts with http:// or https://"},
		// The proxy's own address: each request would come back to it.
		{"http://" + busy.Addr().String(), "the proxy's own address"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			var out bytes.Buffer
			// Already cancelled: should the target be accepted by mistake,
			// run starts and stops at once, and the test fails instead of
			// serving until it times out.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			err := run(ctx, []string{"-listen", busy.Addr().String(), "-target", tt.target}, &out)
			var usage *serve.UsageError
			assert.ErrorAs(t, err, &usage)
			assert.ErrorIs(t, err, proxy.ErrBadTarget)
			assert.ErrorContains(t, err, tt.reason)
			assert.Empty(t, out.String(), "nothing started, so nothing to announce")
		})
	}
}

func TestRunRejectsABadCommandLine(t *testing.T) {
	var usage *serve.UsageError
	err := run(context.Background(), []string{"-targets", "http://127.0.0.1:9001"}, &bytes.Buffer{})
	assert.ErrorAs(t, err, &usage, "-targets is chapter 04's flag")
	err = run(context.Background(), []string{"extra"}, &bytes.Buffer{})
	assert.ErrorAs(t, err, &usage)
}

// -h documents both flags and their defaults.
func TestHelpDocumentsTheFlags(t *testing.T) {
	var opts options
	fs := newFlagSet(&opts)
	var help bytes.Buffer
	fs.SetOutput(&help)
	err := serve.Parse(fs, []string{"-h"})
	assert.True(t, errors.Is(err, flag.ErrHelp))
	for _, want := range []string{"-listen address", `(default "127.0.0.1:8080")`, "-target URL", "demo backend A"} {
		assert.Contains(t, help.String(), want)
	}
	// run itself stops at -h without starting anything (exit status 0).
	err = run(context.Background(), []string{"-h"}, &bytes.Buffer{})
	assert.ErrorIs(t, err, flag.ErrHelp)
}

// A busy -listen address is reported before the demo backend starts: the
// program does not print "backend A listening on ..." and then give up.
func TestRunReportsABusyPort(t *testing.T) {
	ln, err := serve.Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	var out bytes.Buffer
	err = run(context.Background(), []string{"-listen", ln.Addr().String()}, &out)
	require.Error(t, err)
	assert.Empty(t, out.String(), "no demo backend starts when the proxy cannot listen")
	var usage *serve.UsageError
	assert.False(t, errors.As(err, &usage), "a busy port is not a usage error")
	assert.True(t, strings.HasPrefix(err.Error(), "cannot listen on "+ln.Addr().String()), err.Error())
}

// The program closes the connection after a chunked request, so that a
// request smuggled after its last chunk reaches no backend.
func TestRunServesNoSmuggledRequest(t *testing.T) {
	proxytest.CheckSmuggling(t, func(t *testing.T, target *url.URL) string {
		return proxytest.Start(t, run, "-listen", "127.0.0.1:0", "-target", target.String())
	})
}
