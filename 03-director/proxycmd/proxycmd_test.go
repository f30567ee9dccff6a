package proxycmd

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/02-single-proxy/proxy"
)

func parse(t *testing.T, args ...string) *Flags {
	t.Helper()
	fs := flag.NewFlagSet("prog", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := AddFlags(fs, "backend `URLs`")
	require.NoError(t, serve.Parse(fs, args))
	return f
}

func TestDefaults(t *testing.T) {
	f := parse(t)
	assert.Equal(t, "127.0.0.1:8080", f.Listen)
	assert.Equal(t, time.Second, f.Timeout)
	assert.Equal(t, time.Second, f.Transport().ResponseHeaderTimeout)
	targets, err := f.Check()
	require.NoError(t, err)
	assert.Nil(t, targets, "no -targets: nil, so the program starts its demo backends")
}

func TestCheck(t *testing.T) {
	f := parse(t, "-targets", "http://127.0.0.1:9001, http://127.0.0.1:9002/base", "-timeout", "250ms")
	targets, err := f.Check()
	require.NoError(t, err)
	var got []string
	for _, u := range targets {
		got = append(got, u.String())
	}
	if diff := cmp.Diff([]string{"http://127.0.0.1:9001", "http://127.0.0.1:9002/base"}, got); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	assert.Equal(t, 250*time.Millisecond, f.Transport().ResponseHeaderTimeout)

	for _, tc := range []struct {
		args    []string
		wantMsg string
		badURL  bool
	}{
		{[]string{"-targets", ""}, "-targets: ", true}, // given but empty: a mistake, not the demo
		{[]string{"-targets", "127.0.0.1:9001"}, `"127.0.0.1:9001"`, true},
		{[]string{"-timeout", "0s"}, "-timeout 0s: want a positive duration", false},
		{[]string{"-timeout", "-1s", "-targets", "http://127.0.0.1:9001"}, "-timeout -1s", false},
		// The proxy's own address, under another name: each request would come back to it.
		{[]string{"-listen", "127.0.0.1:8080", "-targets", "http://127.0.0.1:9001,http://localhost:8080"}, `"http://localhost:8080": the proxy's own address`, true},
	} {
		_, err := parse(t, tc.args...).Check()
		var usage *serve.UsageError
		require.ErrorAs(t, err, &usage, "%q must be a usage error (exit 2)", tc.args)
		assert.ErrorContains(t, err, tc.wantMsg, "%q", tc.args)
		assert.Equal(t, tc.badURL, errors.Is(err, proxy.ErrBadTarget), "%q: errors.Is(err, proxy.ErrBadTarget)", tc.args)
	}
}

func TestStartDemo(t *testing.T) {
	var g serve.Group
	var out bytes.Buffer
	targets, err := StartDemo(&g, 2, &out)
	require.NoError(t, err)
	require.Len(t, targets, 2)
	want := fmt.Sprintf("backend A listening on %s\nbackend B listening on %s\n", targets[0], targets[1])
	assert.Equal(t, want, out.String())

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	defer func() {
		cancel()
		assert.NoError(t, <-done)
	}()
	for i, name := range []string{"A", "B"} {
		resp, err := http.Get(targets[i].String() + "/")
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, "Hello from backend "+name+"\n", string(body))
	}
}

// Open starts demo backends only when no -targets were given, and reports
// a busy -listen address before starting any.
func TestOpen(t *testing.T) {
	busy, err := serve.Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()

	var g serve.Group
	var out bytes.Buffer
	f := &Flags{Listen: busy.Addr().String()}
	_, _, err = f.Open(&g, nil, 2, &out)
	require.Error(t, err)
	assert.Empty(t, out.String(), "no demo backend starts when the proxy cannot listen")

	given := []*url.URL{{Scheme: "http", Host: "127.0.0.1:9"}}
	f.Listen = "127.0.0.1:0"
	ln, targets, err := f.Open(&g, given, 2, &out)
	require.NoError(t, err)
	ln.Close()
	assert.Equal(t, given, targets, "-targets given: used as they are")
	assert.Empty(t, out.String(), "-targets given: no demo backend")

	ln, targets, err = f.Open(&g, nil, 2, &out)
	require.NoError(t, err)
	defer g.Close()
	ln.Close()
	assert.Len(t, targets, 2)
	assert.Contains(t, out.String(), "backend B listening on ")
}
