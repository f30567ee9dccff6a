package proxytest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/01-backends/transcript"
)

// Start runs a stage's program, run, with args until the test ends, and
// returns the URL its proxy listens at: the one in the first line it
// prints with "listening on http://" that is not a demo backend's. Give
// it -listen 127.0.0.1:0.
func Start(t *testing.T, run serve.RunFunc, args ...string) (url string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := transcript.NewLineWriter(100)
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("the program stopped with %v", err)
			}
		case <-time.After(Timeout):
			t.Errorf("the program did not stop within %v of its context's end", Timeout)
		}
	})
	deadline := time.After(Timeout)
	for {
		select {
		case line := <-out.Lines:
			_, rest, ok := strings.Cut(line, " listening on http://")
			if ok && !strings.HasPrefix(line, "backend ") {
				addr, _, _ := strings.Cut(rest, ",")
				return "http://" + addr
			}
		case err := <-done:
			done <- err // for the clean-up
			t.Fatalf("the program stopped before it listened: %v", err)
		case <-deadline:
			t.Fatalf("the program printed no proxy address within %v", Timeout)
		}
	}
}
