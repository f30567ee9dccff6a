package gateway

import (
	"bytes"
	"context"
	"flag"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/01-backends/transcript"
)

// The chapter's "Run it" section is this transcript: the test runs the
// program and replays every curl command in it. The log, on stderr, is
// what the chapter says under the transcript: an access line for the
// request to / and for each of the two to /cached/ (the built-in routes
// with access-log; /rr/, /swrr/ and /chash/ have none), and a line for
// the reload.
func TestRunTranscript(t *testing.T) {
	keepRuntime(t)
	var log lockedBuffer
	logOutput = &log
	t.Cleanup(func() { logOutput = os.Stderr })
	transcript.Check(t, "testdata/run.txt", Run, "-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0")

	var got []string
	for line := range strings.Lines(log.String()) {
		m := logLine.FindStringSubmatch(line)
		require.NotNil(t, m, "a log line: %q", line)
		got = append(got, strings.TrimSpace(m[1]+" "+m[2]))
	}
	slices.Sort(got) // an access line is written once its answer has gone: the next request's may come first
	want := []string{"reloaded", "request /", "request /cached/cacheable/30", "request /cached/cacheable/30"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the log of the transcript, message and path (-want +got):\n%s\n%s", diff, log.String())
	}
}

// logLine finds the message of a log line, and its path if it has one.
var logLine = regexp.MustCompile(`^time=\S+ level=\S+ msg=(\S+)(?: method=\S+ path=(\S+))?`)

func TestRunRejectsABadCommandLine(t *testing.T) {
	keepRuntime(t)
	var usage *serve.UsageError
	for _, args := range [][]string{
		{"-nope"},
		{"-config", "testdata/no-such-file.yaml"},
		{"-check", "testdata/no-such-file.yaml"},
		{"-targets", "localhost:9001"},
		{"-targets", "http://127.0.0.1:9001"}, // the built-in configuration needs three
		{"extra"},
		{"-listen", "127.0.0.1:0", "-admin", "localhost"},
	} {
		err := Run(context.Background(), args, &bytes.Buffer{})
		assert.ErrorAs(t, err, &usage, "%v", args)
	}
	assert.ErrorIs(t, Run(context.Background(), []string{"-h"}, &bytes.Buffer{}), flag.ErrHelp)
}

// -listen and -admin that could not both be bound are a usage error that
// says why, before either is bound; not the second bind's "is another
// program using it?". The port is held by the test, so a missing check
// fails at the first bind instead of taking the port.
func TestRunRefusesListenersThatClash(t *testing.T) {
	keepRuntime(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	_, port, _ := net.SplitHostPort(busy.Addr().String())
	var usage *serve.UsageError
	for _, c := range []struct{ listen, admin, why string }{
		{"127.0.0.1:" + port, "127.0.0.1:" + port, "are one address: "},
		{"127.0.0.1:" + port, ":" + port, "takes it on every address"},
		{"[::ffff:127.0.0.1]:" + port, "127.0.0.1:" + port, "one address written two ways"},
	} {
		err := Run(context.Background(), []string{"-listen", c.listen, "-admin", c.admin}, &bytes.Buffer{})
		if assert.ErrorAs(t, err, &usage, "-listen %s -admin %s", c.listen, c.admin) {
			assert.ErrorContains(t, err, c.why)
			assert.ErrorContains(t, err, "-admin or admin.addr")
		}
	}
}

// A busy admin address is reported as the admin listener's, with the flag
// and the key that choose it (not -listen, which is the other listener).
func TestRunNamesTheBusyAdminAddress(t *testing.T) {
	keepRuntime(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	err = Run(context.Background(), []string{"-listen", "127.0.0.1:0", "-admin", busy.Addr().String()}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot listen on "+busy.Addr().String()+" for the admin listener")
	assert.Contains(t, err.Error(), "-admin or admin.addr")
}
