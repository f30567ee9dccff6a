package main

import (
	"bytes"
	"context"
	"flag"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/deadaddr"
	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/01-backends/transcript"
)

// The chapter's "Run it" section is this transcript: the test runs the
// program and replays every curl command in it.
func TestRunTranscript(t *testing.T) {
	transcript.Check(t, "testdata/run.txt", run, "-listen", "127.0.0.1:0,127.0.0.1:0")
}

func TestRunRejectsABadCommandLine(t *testing.T) {
	var usage *serve.UsageError
	err := run(context.Background(), []string{"-nope"}, &bytes.Buffer{})
	assert.ErrorAs(t, err, &usage)
	err = run(context.Background(), []string{"-h"}, &bytes.Buffer{})
	assert.ErrorIs(t, err, flag.ErrHelp)
}

// The same address twice is a mistake on the command line, not a port
// another program holds; port 0 twice is two free ports (as in
// TestRunTranscript). 192.0.2.1 is a documentation address no machine
// here has, so nothing is listened on even if the check were missing.
func TestRunRejectsAnAddressGivenTwice(t *testing.T) {
	var usage *serve.UsageError
	err := run(context.Background(), []string{"-listen", "192.0.2.1:8080,192.0.2.1:8081,192.0.2.1:8080"}, &bytes.Buffer{})
	require.ErrorAs(t, err, &usage)
	assert.EqualError(t, err, "-listen: 192.0.2.1:8080 is given twice; each backend needs an address of its own")
}

// One address spelled two ways is given twice too, and said so, with
// both spellings, before anything listens: otherwise the program's own
// first listener holds the port and the second asks the user whether
// "another program" is using it. What can be told without DNS is
// compared: localhost (as net.Listen resolves it, from the hosts file), an
// IPv6 address written two ways or an IPv4 one written as IPv6, and a
// port written with a leading zero or by its name. The port of the
// localhost cases is reserved, so that no other test is given it if the
// check is missing and this one listens there.
func TestRunRejectsOneAddressUnderTwoNames(t *testing.T) {
	reserved := deadaddr.Reserve(t)
	_, port, err := net.SplitHostPort(reserved)
	require.NoError(t, err)
	local, err := net.ResolveTCPAddr("tcp", "localhost:"+port)
	require.NoError(t, err, "localhost does not resolve here")
	for _, tc := range []struct{ listen, first, second, same string }{
		{"localhost:" + port + "," + local.String(), "localhost:" + port, local.String(), local.String()},
		{"LocalHost:0" + port + ",localhost:" + port, "LocalHost:0" + port, "localhost:" + port, local.String()},
		{"127.0.0.1:" + port + ",[::ffff:127.0.0.1]:" + port, "127.0.0.1:" + port, "[::ffff:127.0.0.1]:" + port, "127.0.0.1:" + port},
		{"192.0.2.1:8080,192.0.2.1:08080", "192.0.2.1:8080", "192.0.2.1:08080", "192.0.2.1:8080"},
		{"192.0.2.1:http,192.0.2.1:8080,192.0.2.1:80", "192.0.2.1:http", "192.0.2.1:80", "192.0.2.1:80"},
		{"[2001:db8::1]:8080,[2001:DB8:0:0::1]:8080", "[2001:db8::1]:8080", "[2001:DB8:0:0::1]:8080", "[2001:db8::1]:8080"},
	} {
		var stdout bytes.Buffer
		err := run(context.Background(), []string{"-listen", tc.listen}, &stdout)
		var usage *serve.UsageError
		if assert.ErrorAs(t, err, &usage, "-listen %s", tc.listen) {
			want := "-listen: " + tc.first + " and " + tc.second + " are one address, " + tc.same + ", given twice; each backend needs an address of its own"
			assert.EqualError(t, err, want)
		}
		assert.Empty(t, stdout.String(), "-listen %s: something started", tc.listen)
	}
}

// A port another program holds is not a mistake on the command line: the
// program exits 1 (not 2, a usage error) and prints what the chapter shows.
func TestRunReportsABusyPort(t *testing.T) {
	ln, err := serve.Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	busy := ln.Addr().String()
	err = run(context.Background(), []string{"-listen", "127.0.0.1:0," + busy}, &bytes.Buffer{})
	require.Error(t, err)
	var stderr bytes.Buffer
	assert.Equal(t, 1, serve.ExitCode(&stderr, "01-backends", err), "the exit status")
	want := "01-backends: cannot listen on " + busy + " (is another program using it? pick another address with -listen): listen tcp " + busy + ": bind: "
	assert.True(t, strings.HasPrefix(stderr.String(), want), "stderr: %q\nwant it to start with %q", stderr.String(), want)
}

// Two copies of the program run side by side when given different ports:
// both are serving at the same time.
func TestTwoCopiesRunSideBySide(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 2)
	outs := []*transcript.LineWriter{transcript.NewLineWriter(100), transcript.NewLineWriter(100)}
	for _, out := range outs {
		go func() { done <- run(ctx, []string{"-listen", "127.0.0.1:0,127.0.0.1:0"}, out) }()
	}
	for _, out := range outs {
		first := <-out.Lines // "backend A listening on http://..."
		url := strings.TrimPrefix(first, "backend A listening on ")
		resp, err := http.Get(url)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	}
	cancel()
	for range outs {
		assert.NoError(t, <-done)
	}
}
