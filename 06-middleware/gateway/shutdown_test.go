package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/transcript"
)

// runFile writes text to a configuration file and runs the program on it
// until the test ends or stop is called. It returns the gateway's URL.
func runFile(t *testing.T, text string) (url, file string, stop func() error) {
	t.Helper()
	file = filepath.Join(t.TempDir(), "gateway.yaml")
	require.NoError(t, os.WriteFile(file, []byte(text), 0o644))
	ctx, cancel := context.WithCancel(context.Background())
	out := transcript.NewLineWriter(100)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, []string{"-config", file, "-listen", "127.0.0.1:0"}, out) }()
	var first string
	select {
	case first = <-out.Lines:
	case err := <-done:
		t.Fatalf("Run returned early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run printed nothing within 10s")
	}
	addr, _, _ := strings.Cut(strings.TrimPrefix(first, "gateway listening on "), " ")
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { stop() })
	return addr, file, stop
}

func TestShutdownDrainsRequestsInFlight(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		io.WriteString(w, "finished\n")
	}))
	defer slow.Close()
	url, _, stop := runFile(t, "pools: {p: {targets: ["+slow.URL+"]}}\nroutes: [{pool: p}]\n")

	type result struct {
		code int
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get(url + "/")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		got <- result{resp.StatusCode, string(body), err}
	}()
	receive(t, arrived, "the request at the backend")

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	waitListenerClosed(t, url) // shutdown has begun
	select {
	case <-stopped:
		t.Fatal("the program stopped with a request in flight")
	default:
	}

	close(release)
	r := receive(t, got, "the response")
	require.NoError(t, r.err)
	assert.Equal(t, 200, r.code)
	assert.Equal(t, "finished\n", r.body, "the request in flight completed")
	assert.NoError(t, receive(t, stopped, "the program to stop"), "then the program stopped cleanly")
}

func TestCheckFlag(t *testing.T) {
	var out strings.Builder
	require.NoError(t, Run(context.Background(), []string{"-check", "gateway.yaml"}, &out))
	assert.Equal(t, "gateway.yaml: ok\n", out.String(), "the built-in configuration is valid")
	out.Reset()
	require.NoError(t, Run(context.Background(), []string{"-check", "bench.yaml"}, &out))
	assert.Equal(t, "bench.yaml: ok\n", out.String(), "the chapter's load-test configuration is valid")

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("pools:\n  p: {balancer: fastest, targets: [http://h:1]}\nroutes: [{pool: q}]\n"), 0o644))
	out.Reset()
	err := Run(context.Background(), []string{"-check", bad}, &out)
	require.Error(t, err)
	assert.Equal(t, bad+" has 2 error(s):\n"+
		bad+`:2: pools.p.balancer: unknown balancer "fastest" (known: bounded, chash, leastconn, maglev, p2c, random, roundrobin, swrr)`+"\n"+
		bad+`:3: routes[0].pool: no pool "q" (pools: p)`, err.Error())
	assert.Empty(t, out.String())

	err = Run(context.Background(), []string{"-config", bad, "-listen", "127.0.0.1:0"}, &out)
	assert.ErrorContains(t, err, `unknown balancer "fastest"`, "an invalid file stops start-up")
}
