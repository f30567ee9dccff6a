package main

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/01-backends/transcript"
)

// TestRunTranscript replays the chapter's "Run it" section.
func TestRunTranscript(t *testing.T) {
	transcript.Check(t, "testdata/run.txt", run, "-listen", "127.0.0.1:0")
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-rate", "-1"}, {"-burst", "0"}, {"-max-body", "-5"}, {"-timeout", "0s"}, {"extra"},
	} {
		err := run(context.Background(), append(args, "-listen", "127.0.0.1:0"), io.Discard)
		var usage *serve.UsageError
		assert.True(t, errors.As(err, &usage), "%v: %v", args, err)
	}
}
