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
	"sync/atomic"
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
	keepRuntime(t)
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
	assert.True(t, strings.HasPrefix(err.Error(), bad+" has 2 error(s):\n"+bad+":2: "),
		"start-up lists the errors as -check does, under a line that counts them: %q", err)
}

// The drain still sends requests to backends (a request in flight may be
// retried on another one), so the health checks keep watching them until
// it is over: stopped at the first SIGTERM, they left for the whole drain
// a backend that had stopped answering in the balancer, where a retry
// could wait for it until the drain cut the request off. Two checks
// must arrive after the listener closed: one sent just before could
// still be on its way.
func TestHealthChecksRunWhileRequestsDrain(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	var draining atomic.Bool
	checks := make(chan struct{}, 100)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			if draining.Load() {
				checks <- struct{}{}
			}
			return
		}
		close(arrived)
		<-release
		io.WriteString(w, "finished\n")
	}))
	defer slow.Close()
	var once sync.Once
	defer once.Do(func() { close(release) }) // before slow.Close, which waits for the handler
	url, _, stop := runFile(t, "pools: {p: {health: {path: /health, interval: 100ms}, targets: ["+slow.URL+"]}}\nroutes: [{pool: p}]\n")
	done := getStatus(url + "/")
	receive(t, arrived, "the request at the backend")

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	waitListenerClosed(t, url) // the drain has begun
	draining.Store(true)
	receive(t, checks, "a check during the drain")
	receive(t, checks, "a second check during the drain")

	once.Do(func() { close(release) })
	assert.Equal(t, http.StatusOK, receive(t, done, "the drained request's answer"))
	assert.NoError(t, receive(t, stopped, "the program to stop"))
}
