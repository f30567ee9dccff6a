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
	"github.com/gocourse/gateway/02-single-proxy/proxytest"
	"github.com/gocourse/gateway/05-balancers/balancer"
)

// TestRunTranscript replays the chapter's "Run it" session: smooth
// weighted round robin with weights 5, 1, 1 answers A A B A C A A, then
// starts the period again.
func TestRunTranscript(t *testing.T) {
	transcript.Check(t, "testdata/run.txt", run, "-listen", "127.0.0.1:0")
}

// TestDownTranscript: one of two targets is down. Its first request is a
// 502; then the balancer skips it and every request is served.
func TestDownTranscript(t *testing.T) {
	a := httptest.NewServer(backend.New("A"))
	defer a.Close()
	transcript.Check(t, "testdata/down.txt", run, "-listen", "127.0.0.1:0", "-targets", a.URL+","+deadaddr.URL(t))
}

// TestNoHealthTranscript: -max-fails 0 turns passive health tracking
// off, so the dead target keeps its turn and every other request is a
// 502, as in stage 04.
func TestNoHealthTranscript(t *testing.T) {
	a := httptest.NewServer(backend.New("A"))
	defer a.Close()
	transcript.Check(t, "testdata/nohealth.txt", run, "-listen", "127.0.0.1:0", "-targets", a.URL+","+deadaddr.URL(t))
}

// TestHealthFlagsReachTheBalancer replays the no-health session with
// health tracking on (the flags given here come after the transcript's
// own, and win). With -fail-timeout 1ns the dead target is back by its
// next turn; with -max-fails 2 its first failure leaves it in, so its
// second turn is a 502 too. With -max-fails 1 and the default 10s, its
// second turn would go to A, as in TestDownTranscript.
func TestHealthFlagsReachTheBalancer(t *testing.T) {
	for name, flags := range map[string][]string{
		"fail timeout 1ns": {"-max-fails", "1", "-fail-timeout", "1ns"},
		"max fails 2":      {"-max-fails", "2"},
	} {
		t.Run(name, func(t *testing.T) {
			a := httptest.NewServer(backend.New("A"))
			defer a.Close()
			args := append([]string{"-listen", "127.0.0.1:0", "-targets", a.URL + "," + deadaddr.URL(t)}, flags...)
			transcript.Check(t, "testdata/nohealth.txt", run, args...)
		})
	}
}

// TestAllDownTranscript: with its only target down, the gateway answers
// 503 and says why, without trying the dead backend again.
func TestAllDownTranscript(t *testing.T) {
	transcript.Check(t, "testdata/alldown.txt", run, "-listen", "127.0.0.1:0", "-targets", deadaddr.URL(t))
}

// TestBadFlagsStopStartUp: each bad flag is a usage error that names it,
// found before anything starts. The proxy's -listen address is taken, so
// a flag checked only after the proxy listens (or demo backends start)
// would be reported as a busy port instead.
func TestBadFlagsStopStartUp(t *testing.T) {
	busy, err := serve.Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	for _, tc := range []struct {
		name    string
		args    []string
		wantMsg string
	}{
		{"unknown balancer", []string{"-balancer", "fastest"}, `-balancer: unknown balancer "fastest": choose one of bounded, chash`},
		{"bad weight", []string{"-weights", "5,x"}, `-weights: "x" is not a weight`},
		{"zero weight", []string{"-weights", "0"}, `-weights: "0" is not a weight`},
		{"weight with a plus sign", []string{"-weights", "+5,1,1"}, `-weights: "+5" is not a weight: want whole numbers from 1 to 256, in plain digits`},
		{"weight with a leading zero", []string{"-weights", "5,01,1"}, `-weights: "01" is not a weight`},
		{"weight in octal", []string{"-weights", "010"}, `-weights: "010" is not a weight`},
		{"weight above MaxWeight", []string{"-weights", "300,1,1"}, `-weights: "300" is not a weight: want whole numbers from 1 to 256`},
		{"weights and targets differ", []string{"-targets", "http://127.0.0.1:9001", "-weights", "1,2"}, "-weights: 2 weights for 1 targets"},
		{"bad key", []string{"-key", "host"}, `-key: bad key "host"`},
		{"bad target", []string{"-targets", "127.0.0.1:9001"}, "-targets: "},
		{"empty targets", []string{"-targets", ""}, "-targets: "},
		{"zero timeout", []string{"-timeout", "0s"}, "-timeout 0s"},
		{"negative max fails", []string{"-max-fails", "-1"}, "-max-fails -1"},
		{"zero fail timeout", []string{"-balancer", "maglev", "-fail-timeout", "0s"}, "-fail-timeout 0s"},
		{"negative fail timeout, tracking off", []string{"-max-fails", "0", "-fail-timeout", "-1s"}, "-fail-timeout -1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Canceled: a flag that is wrongly accepted makes run start
			// and return at once, instead of serving until the test times out.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			err := run(ctx, append([]string{"-listen", busy.Addr().String()}, tc.args...), io.Discard)
			var usage *serve.UsageError
			require.ErrorAs(t, err, &usage, "a bad flag must be a usage error (exit 2)")
			assert.ErrorContains(t, err, tc.wantMsg)
		})
	}
	err = run(context.Background(), []string{"-balancer", "nope"}, io.Discard)
	assert.True(t, errors.Is(err, balancer.ErrUnknownBalancer), "errors.Is(%v, ErrUnknownBalancer)", err)
}

// The program closes the connection after a chunked request, so that a
// request smuggled after its last chunk reaches no backend (chapter 02).
func TestRunServesNoSmuggledRequest(t *testing.T) {
	proxytest.CheckSmuggling(t, func(t *testing.T, target *url.URL) string {
		return proxytest.Start(t, run, "-listen", "127.0.0.1:0", "-targets", target.String())
	})
}
