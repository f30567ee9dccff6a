package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/01-backends/transcript"
)

// The chapter's "Run it" transcript is what the program prints: the test
// runs the program and replays every curl command.
func TestRunTranscript(t *testing.T) {
	transcript.Check(t, "testdata/run.txt", run, "-listen", "127.0.0.1:0")
}

func TestRunRejectsABadCommandLine(t *testing.T) {
	for _, args := range [][]string{
		{"-role", "nobody"},
		{"-role", "gateway"},
		{"-role", "gateway", "-targets", "ftp://x"},
		{"-role", "gateway", "-targets", "http://127.0.0.1:8081/objects"},
		{"-rate", "0"},
		{"-api-key", ""},
		{"-replicas", "2", "-quorum", "3"},
		{"-replicas", "0"},
		{"-heartbeat", "10s", "-timeout", "5s"},
		{"-max-size", "0"},
		{"-repair-every", "0s"},
		{"-keep", "-1"},
		{"-copy-rate", "0"},
		{"-role", "api", "-meta", "127.0.0.1:9100"},
		{"-role", "data", "-meta", "ftp://x"},
		{"extra"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), args, &out)
			var usage *serve.UsageError
			assert.ErrorAs(t, err, &usage)
			assert.Empty(t, out.String(), "nothing started, so nothing to announce")
		})
	}
}

func TestHelpDocumentsTheFlags(t *testing.T) {
	var o options
	fs := newFlagSet(&o)
	var help bytes.Buffer
	fs.SetOutput(&help)
	assert.True(t, errors.Is(serve.Parse(fs, []string{"-h"}), flag.ErrHelp))
	for _, want := range []string{"-role all", "-listen address", "-data directory", "-meta URL", "-replicas", "-quorum", "-heartbeat", "-timeout", "-max-size bytes", "-capacity bytes",
		"-targets URLs", "-admin address", "-api-key key", "-rate requests",
		"-grace", "-repair-every", "-scrub-every", "-scrub-rate bytes", "-copy-rate bytes", "-gc-every", "-gc-grace", "-keep"} {
		assert.Contains(t, help.String(), want)
	}
}

func TestRunReportsABusyPort(t *testing.T) {
	ln, err := serve.Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	err = run(context.Background(), []string{"-listen", ln.Addr().String()}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot listen on "+ln.Addr().String())
}

// output is a program's stdout that a test can wait on.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	select {
	case o.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (o *output) String() string { o.mu.Lock(); defer o.mu.Unlock(); return o.buf.String() }

// start runs the program with args until the test ends, and returns what
// it printed once it says it is ready.
func start(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &output{changed: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, out) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
	deadline := time.After(transcript.Timeout)
	for !strings.Contains(out.String(), "Stop with Ctrl-C.") {
		select {
		case <-out.changed:
		case err := <-done:
			t.Fatalf("%v stopped early: %v\n%s", args, err, out.String())
		case <-deadline:
			t.Fatalf("%v did not start:\n%s", args, out.String())
		}
	}
	return out.String()
}

var urlOf = regexp.MustCompile(`on (http://\S+)`)

// The roles run as separate programs make one store, and the data kept
// with -data survives a restart of the metadata server.
func TestRolesMakeOneStore(t *testing.T) {
	metaDir := t.TempDir()
	metaURL := urlOf.FindStringSubmatch(start(t, "-role", "meta", "-listen", "127.0.0.1:0", "-data", metaDir))[1]
	for range 2 {
		start(t, "-role", "data", "-listen", "127.0.0.1:0", "-data", t.TempDir(), "-meta", metaURL)
	}
	apiURL := urlOf.FindStringSubmatch(start(t, "-role", "api", "-listen", "127.0.0.1:0", "-meta", metaURL))[1]

	req, err := http.NewRequest(http.MethodPut, apiURL+"/objects/k", strings.NewReader("across processes"))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	resp, err = http.Get(apiURL + "/objects/k")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "across processes", string(body))
}

// The same store, with its gateway as a separate program in front of two
// API servers: -role gateway takes their URLs, and clients need the key.
func TestGatewayRoleFrontsTheAPIServers(t *testing.T) {
	metaURL := urlOf.FindStringSubmatch(start(t, "-role", "meta", "-listen", "127.0.0.1:0", "-data", t.TempDir(), "-replicas", "1"))[1]
	start(t, "-role", "data", "-listen", "127.0.0.1:0", "-data", t.TempDir(), "-meta", metaURL)
	var apis []string
	for range 2 {
		out := start(t, "-role", "api", "-listen", "127.0.0.1:0", "-meta", metaURL)
		assert.NotContains(t, out, "data (", "an API server keeps no data, so it names no data directory")
		apis = append(apis, urlOf.FindStringSubmatch(out)[1])
	}
	out := start(t, "-role", "gateway", "-listen", "127.0.0.1:0", "-targets", strings.Join(apis, ","), "-api-key", "secret")
	assert.NotContains(t, out, "metadata server")
	assert.NotContains(t, out, "data (", "the gateway keeps no data, so it names no data directory")
	gw := urlOf.FindStringSubmatch(out)[1]
	assert.Contains(t, out, "curl -s -H 'X-Api-Key: secret' -X PUT -d 'hello, object store' "+gw+"/objects/greeting.txt")

	do := func(method, path, key, body string) (int, string) {
		req, err := http.NewRequest(method, gw+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("X-Api-Key", key)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, _ := do(http.MethodPut, "/objects/k", "wrong", "through the gateway")
	assert.Equal(t, http.StatusUnauthorized, status)
	status, _ = do(http.MethodPut, "/objects/k", "secret", "through the gateway")
	require.Equal(t, http.StatusCreated, status)
	status, body := do(http.MethodGet, "/objects/k", "secret", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "through the gateway", body)
}
