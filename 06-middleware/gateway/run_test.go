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
