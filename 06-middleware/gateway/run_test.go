package gateway

import (
	"bytes"
	"context"
	"flag"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/01-backends/transcript"
)

// The chapter's "Run it" section is this transcript: the test runs the
// program and replays every curl command in it.
func TestRunTranscript(t *testing.T) {
	transcript.Check(t, "testdata/run.txt", Run, "-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0")
}

func TestRunRejectsABadCommandLine(t *testing.T) {
	var usage *serve.UsageError
	for _, args := range [][]string{
		{"-nope"},
		{"-config", "testdata/no-such-file.yaml"},
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
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	err = Run(context.Background(), []string{"-listen", "127.0.0.1:0", "-admin", busy.Addr().String()}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot listen on "+busy.Addr().String()+" for the admin listener")
	assert.Contains(t, err.Error(), "-admin or admin.addr")
}
