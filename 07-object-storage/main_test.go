package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/01-backends/transcript"
	"github.com/gocourse/gateway/07-object-storage/blob"
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
		{"-rate", "+Inf"},
		{"-rate", "NaN"},
		{"-rate", "1e19"}, // its burst, twice that, overflowed an int to 1
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
		// A path, a query or a fragment would be joined to every request's
		// path: the metadata server would answer each with its mux's 404,
		// which the client reads as "no such object".
		{"-role", "api", "-listen", "127.0.0.1:0", "-meta", "http://127.0.0.1:9100/status"},
		{"-role", "data", "-listen", "127.0.0.1:0", "-meta", "http://127.0.0.1:9100?x=1"},
		{"-role", "api", "-listen", "127.0.0.1:0", "-meta", "http://127.0.0.1:9100#top"},
		{"-role", "gateway", "-listen", "127.0.0.1:0", "-targets", "http://127.0.0.1:8081?x=1"},
		{"-role", "data", "-listen", "127.0.0.1:0", "-capacity", "-1"},
		// A data server tells the metadata server its address, and every
		// client and data server dials it: an address of every interface
		// is none they can dial.
		{"-role", "data", "-listen", ":9101"},
		{"-role", "data", "-listen", "0.0.0.0:9101"},
		{"-role", "data", "-listen", "[::]:9101"},
		{"-role", "data", "-listen", "nonsense"},
		{"extra"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			// The context is done already: a run that did start ends at
			// once, without an error, instead of serving on.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			var out bytes.Buffer
			err := run(ctx, args, &out)
			var usage *serve.UsageError
			assert.ErrorAs(t, err, &usage)
			assert.Empty(t, out.String(), "nothing started, so nothing to announce")
		})
	}
}

// A -data directory that cannot be made is an error that names the flag:
// "mkdir /x/file: not a directory" alone left the user guessing which
// setting was wrong.
func TestABadDataDirectoryNamesTheFlag(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	for _, role := range []string{"meta", "data", "all"} {
		t.Run(role, func(t *testing.T) {
			dir := filepath.Join(file, role)
			var out bytes.Buffer
			err := run(context.Background(), []string{"-role", role, "-listen", "127.0.0.1:0", "-data", dir}, &out)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), fmt.Sprintf("-data %q: ", dir)), err.Error())
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
	assert.Regexp(t, `-max-size bytes\n\s+largest object or blob, in bytes \(data, api; gateway: `, help.String(),
		"the gateway role takes -max-size too (TestGatewayRoleTakesMaxSize)")
}

// -max-size is the gateway's body limit too: a larger PUT is refused there
// (413) and never reaches an API server.
func TestGatewayRoleTakesMaxSize(t *testing.T) {
	var reached atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			reached.Add(1)
		}
	}))
	t.Cleanup(api.Close)
	out := start(t, "-role", "gateway", "-listen", "127.0.0.1:0", "-targets", api.URL, "-max-size", "4")
	gw := gatewayURL.FindStringSubmatch(out)[1]
	assert.Contains(t, out, "over 1 API server;")

	status, body := putGet(t, gw, "k", "12345")
	assert.Equal(t, http.StatusRequestEntityTooLarge, status, body)
	status, body = putGet(t, gw, "k", "1234")
	assert.Equal(t, http.StatusOK, status, body) // what the stand-in API server answers
	assert.Equal(t, int32(1), reached.Load(), "only the PUT within -max-size reaches the API server")
}

func TestRunReportsABusyPort(t *testing.T) {
	ln, err := serve.Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	err = run(context.Background(), []string{"-listen", ln.Addr().String()}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot listen on "+ln.Addr().String())
}

// A flag that the chosen role does not read is refused, naming the roles
// that read it, before anything starts; every role takes the flags it
// reads.
func TestFlagsOfOtherRolesAreRefused(t *testing.T) {
	for name, roles := range flagRoles {
		value := newFlagSet(&options{}).Lookup(name).DefValue
		if name == "targets" {
			value = "http://127.0.0.1:8081"
		}
		for role := range defaultListen {
			err := checkRoleFlags(parsed(t, "-role", role, "-"+name, value), role)
			if slices.Contains(roles, role) {
				assert.NoError(t, err, "-role %s -%s", role, name)
				continue
			}
			if assert.Error(t, err, "-role %s -%s", role, name) {
				assert.Contains(t, err.Error(), fmt.Sprintf("-%s does nothing with -role %s: it is for -role %s", name, role, strings.Join(roles, ", ")))
			}
		}
	}
	// The table itself, spot-checked against what each role runs.
	for _, tc := range []struct {
		role              string
		refused, accepted []string
	}{
		{"all", []string{"meta", "targets"}, []string{"data", "replicas", "heartbeat", "api-key", "max-size"}},
		{"meta", []string{"meta", "heartbeat", "capacity", "scrub-every", "targets", "api-key", "max-size"}, []string{"data", "replicas", "timeout", "gc-grace", "scrub-rate"}},
		{"data", []string{"replicas", "timeout", "keep", "targets", "rate"}, []string{"data", "meta", "heartbeat", "capacity", "max-size", "copy-rate"}},
		{"api", []string{"data", "replicas", "heartbeat", "targets", "api-key", "admin"}, []string{"meta", "max-size"}},
		{"gateway", []string{"data", "meta", "replicas", "capacity"}, []string{"targets", "max-size", "api-key", "rate", "admin"}},
	} {
		for _, name := range tc.refused {
			assert.NotContains(t, flagRoles[name], tc.role, "-role %s reads -%s", tc.role, name)
		}
		for _, name := range tc.accepted {
			assert.Contains(t, flagRoles[name], tc.role, "-role %s ignores -%s", tc.role, name)
		}
	}
	// And through run, which stops before starting anything. Its context
	// is done already, so that a run that did start would end at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := run(ctx, []string{"-role", "api", "-listen", "127.0.0.1:0", "-replicas", "3"}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-replicas does nothing with -role api: it is for -role all, meta")
}

// -heartbeat is the data servers' and -timeout the metadata server's, so
// -role data and -role meta check only their own: each is refused the
// other's flag, and a check of one against the other's default would
// refuse a data server beating every 10s, or a metadata server with a
// -timeout of 2s, whatever the other process is given. -role all runs
// both, and checks that heartbeats come before the timeout.
func TestEachRoleChecksItsOwnTimes(t *testing.T) {
	meta := httptest.NewServer(http.NotFoundHandler()) // no heartbeat needs to land
	t.Cleanup(meta.Close)
	start(t, "-role", "meta", "-listen", "127.0.0.1:0", "-data", t.TempDir(), "-timeout", "2s")
	start(t, "-role", "data", "-listen", "127.0.0.1:0", "-data", t.TempDir(), "-meta", meta.URL, "-heartbeat", "10s")

	for _, args := range [][]string{
		{"-heartbeat", "10s", "-timeout", "10s"},
		{"-role", "data", "-heartbeat", "0s"},
		{"-role", "meta", "-timeout", "0s"},
	} {
		err := run(context.Background(), args, &bytes.Buffer{})
		var usage *serve.UsageError
		assert.ErrorAs(t, err, &usage, "%v", args)
	}
}

// Every flag is either read by every role or in flagRoles, so that a new
// flag cannot be left out of the check.
func TestEveryFlagHasItsRoles(t *testing.T) {
	everyRole := []string{"role", "listen"}
	newFlagSet(&options{}).VisitAll(func(f *flag.Flag) {
		_, listed := flagRoles[f.Name]
		assert.True(t, listed != slices.Contains(everyRole, f.Name), "-%s: in flagRoles, or read by every role", f.Name)
	})
}

// parsed is a flag set with args parsed.
func parsed(t *testing.T, args ...string) *flag.FlagSet {
	t.Helper()
	fs := newFlagSet(&options{})
	require.NoError(t, fs.Parse(args))
	return fs
}

// A second data server on a -data directory in use stops at once, saying
// so, and leaves the first one running on it.
func TestDataDirInUseIsRefused(t *testing.T) {
	meta := httptest.NewServer(http.NotFoundHandler()) // no heartbeat needs to land
	t.Cleanup(meta.Close)
	dir := t.TempDir()
	args := []string{"-role", "data", "-data", dir, "-listen", "127.0.0.1:0", "-meta", meta.URL}
	out := start(t, args...)
	first := urlOf.FindStringSubmatch(out)[1]

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	second := &output{changed: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, second) }()
	var err error
	for err == nil {
		select {
		case err = <-done:
			require.Error(t, err, "the second data server stopped without an error")
		case <-second.changed:
			if strings.Contains(second.String(), "Stop with Ctrl-C.") {
				cancel()
				<-done
				t.Fatalf("a second data server started on a directory in use:\n%s", second.String())
			}
		case <-time.After(transcript.Timeout):
			t.Fatalf("the second data server neither started nor stopped:\n%s", second.String())
		}
	}
	require.ErrorIs(t, err, blob.ErrInUse)
	assert.Contains(t, err.Error(), dir)
	resp, err := http.Get(first + "/blobs/" + string(blob.Sum(nil)))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "the first data server still answers")
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
	out, stop := startStop(t, args...)
	t.Cleanup(stop)
	return out
}

// startStop is start, with a stop that ends the program (and checks that
// it stopped cleanly) before the test does. Call stop once.
func startStop(t *testing.T, args ...string) (string, func()) {
	t.Helper()
	return startStopOn(t, clock{}, args...)
}

// startStopOn is startStop with the program on clk.
func startStopOn(t *testing.T, clk clock, args ...string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &output{changed: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() { done <- runOn(ctx, clk, args, out) }()
	stop := func() {
		cancel()
		assert.NoError(t, <-done)
	}
	deadline := time.After(transcript.Timeout)
	for !strings.Contains(out.String(), "Stop with Ctrl-C.") {
		select {
		case <-out.changed:
		case err := <-done:
			t.Fatalf("%v stopped early: %v\n%s", args, err, out.String())
		case <-deadline:
			cancel()
			t.Fatalf("%v did not start:\n%s", args, out.String())
		}
	}
	return out.String(), stop
}

var urlOf = regexp.MustCompile(`on (http://\S+)`)

// The roles run as separate programs make one store. (That what -data
// keeps survives a restart is TestDataDirIsKeptAndUsedAgain's.)
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

// -role meta alone has nothing to curl: it prints, under Try:, the lines
// that point a data server and the command-line tool at its own address.
// A data server has no line of its own to print.
func TestMetaRolePrintsHowToPointAtIt(t *testing.T) {
	out := start(t, "-role", "meta", "-listen", "127.0.0.1:0", "-data", t.TempDir())
	metaURL := urlOf.FindStringSubmatch(out)[1]
	assert.Contains(t, out, "\nTry:\n"+
		"  go run ./07-object-storage -role data -meta "+metaURL+"\n"+
		"  go run ./07-object-storage/cli -meta "+metaURL+" versions greeting.txt\n"+
		"Stop with Ctrl-C.\n")
	out = start(t, "-role", "data", "-listen", "127.0.0.1:0", "-data", t.TempDir(), "-meta", metaURL)
	assert.NotContains(t, out, "Try:")
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
	assert.Contains(t, out, "curl -s -H 'X-Api-Key: secret' -X PUT -H 'Content-Type: text/plain' -d 'hello, object store' "+gw+"/objects/greeting.txt")

	var header http.Header // the last answer's
	do := func(method, path, key, body string, contentType ...string) (int, string) {
		req, err := http.NewRequest(method, gw+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("X-Api-Key", key)
		if len(contentType) > 0 {
			req.Header.Set("Content-Type", contentType[0])
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		header = resp.Header
		return resp.StatusCode, string(b)
	}
	status, _ := do(http.MethodPut, "/objects/k", "wrong", "through the gateway")
	assert.Equal(t, http.StatusUnauthorized, status)
	status, _ = do(http.MethodPut, "/objects/k", "secret", "through the gateway")
	require.Equal(t, http.StatusCreated, status)
	status, body := do(http.MethodGet, "/objects/k", "secret", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "through the gateway", body)
	assert.Equal(t, "application/octet-stream", header.Get("Content-Type"), "put without a type")
	// The gateway's cache answers the next GET (the API server's answer
	// let a shared cache keep it for the seconds left of its metadata,
	// 4 or 5 of them), and a PUT through the gateway drops it: the client
	// reads its own write.
	status, _ = do(http.MethodGet, "/objects/k", "secret", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, header.Get("Cache-Status"), "gateway; hit")
	status, _ = do(http.MethodPut, "/objects/k", "secret", "written again")
	require.Equal(t, http.StatusOK, status)
	status, body = do(http.MethodGet, "/objects/k", "secret", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "written again", body)
	assert.Equal(t, "gateway; fwd=uri-miss", header.Get("Cache-Status"))
	// A query that does not parse is refused by the gateway (chapter
	// 06's Gateway.ServeHTTP): forwarded, it would lose ?version= and add
	// a delete marker.
	status, body = do(http.MethodDelete, "/objects/k?version=1;", "secret", "")
	assert.Equal(t, http.StatusBadRequest, status, body)
	status, _ = do(http.MethodGet, "/objects/k", "secret", "")
	assert.Equal(t, http.StatusOK, status, "a refused DELETE deleted the key")

	// The type a PUT gives comes back through the gateway, with nosniff.
	status, _ = do(http.MethodPut, "/objects/typed.json", "secret", `{"a": 1}`, "application/json")
	require.Equal(t, http.StatusCreated, status)
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		status, _ = do(method, "/objects/typed.json", "secret", "")
		assert.Equal(t, http.StatusOK, status, method)
		assert.Equal(t, "application/json", header.Get("Content-Type"), method)
		assert.Equal(t, "nosniff", header.Get("X-Content-Type-Options"), method)
	}
	status, body = do(http.MethodPut, "/objects/typed.json", "secret", `{"a": 2}`, "application json")
	assert.Equal(t, http.StatusBadRequest, status, body)
	assert.Contains(t, body, "bad content type")
}

var (
	gatewayURL = regexp.MustCompile(`gateway on (http://\S+)`)
	tempData   = regexp.MustCompile(`data \(removed on stop; keep it with -data DIR\): (\S+)`)
)

// putGet sends a PUT (body not empty) or a GET of key through the
// gateway, with the demo key, and returns the status and the body.
func putGet(t *testing.T, gw, key, body string) (int, string) {
	t.Helper()
	method := http.MethodGet
	if body != "" {
		method = http.MethodPut
	}
	req, err := http.NewRequest(method, gw+"/objects/"+key, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("X-Api-Key", "demo-key")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// -data DIR keeps the store: what one run wrote, the next run on the same
// directory serves (its data servers on new ports, found by their disk
// IDs). Without -data the printed temporary directory is removed on stop.
func TestDataDirIsKeptAndUsedAgain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	out, stop := startStop(t, "-listen", "127.0.0.1:0", "-data", dir)
	assert.Contains(t, out, "data (kept): "+dir)
	code, body := putGet(t, gatewayURL.FindStringSubmatch(out)[1], "kept", "written by the first run")
	require.Equal(t, http.StatusCreated, code, body)
	stop()
	_, err := os.Stat(filepath.Join(dir, "meta.db"))
	require.NoError(t, err, "the stopped program left its directory")

	out, stop = startStop(t, "-listen", "127.0.0.1:0", "-data", dir)
	code, body = putGet(t, gatewayURL.FindStringSubmatch(out)[1], "kept", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "written by the first run", body)
	stop()

	out, stop = startStop(t, "-listen", "127.0.0.1:0")
	tmp := tempData.FindStringSubmatch(out)
	require.NotNil(t, tmp, out)
	_, err = os.Stat(filepath.Join(tmp[1], "meta.db"))
	require.NoError(t, err, "the store is in the directory it prints")
	stop()
	_, err = os.Stat(tmp[1])
	assert.ErrorIs(t, err, fs.ErrNotExist, "without -data the directory is removed on stop")
}

// -quorum sets W: with R = 2 and one data server, a write is committed
// with -quorum 1 and refused with the default, W = R.
func TestQuorumFlag(t *testing.T) {
	for _, tc := range []struct {
		quorum []string
		want   int
	}{
		{nil, http.StatusServiceUnavailable},
		{[]string{"-quorum", "1"}, http.StatusCreated},
	} {
		t.Run(fmt.Sprint(tc.quorum), func(t *testing.T) {
			args := append([]string{"-role", "meta", "-listen", "127.0.0.1:0", "-data", t.TempDir(), "-replicas", "2"}, tc.quorum...)
			metaURL := urlOf.FindStringSubmatch(start(t, args...))[1]
			start(t, "-role", "data", "-listen", "127.0.0.1:0", "-data", t.TempDir(), "-meta", metaURL)
			apiURL := urlOf.FindStringSubmatch(start(t, "-role", "api", "-listen", "127.0.0.1:0", "-meta", metaURL))[1]
			req, err := http.NewRequest(http.MethodPut, apiURL+"/objects/k", strings.NewReader("one copy"))
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, tc.want, resp.StatusCode, "%s", body)
		})
	}
}

// -capacity is kept by the data server: a write past it is a 507, one
// that fits is stored.
func TestCapacityFlag(t *testing.T) {
	metaURL := urlOf.FindStringSubmatch(start(t, "-role", "meta", "-listen", "127.0.0.1:0", "-data", t.TempDir(), "-replicas", "1"))[1]
	start(t, "-role", "data", "-listen", "127.0.0.1:0", "-data", t.TempDir(), "-meta", metaURL, "-capacity", "10")
	apiURL := urlOf.FindStringSubmatch(start(t, "-role", "api", "-listen", "127.0.0.1:0", "-meta", metaURL))[1]
	for content, want := range map[string]int{"12345678901": http.StatusInsufficientStorage, "1234567890": http.StatusCreated} {
		req, err := http.NewRequest(http.MethodPut, apiURL+"/objects/"+content, strings.NewReader(content))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, "%d bytes: %s", len(content), body)
	}
}

// A data server scrubs and verifies through a bucket filled at
// -scrub-rate and pulls through one filled at -copy-rate (README, "A
// repair round"), each server through buckets of its own: a pull never
// waits for a scrub's tokens, nor for another data server's.
func TestEachDataServerHasItsOwnScrubAndCopyBuckets(t *testing.T) {
	var o options
	require.NoError(t, newFlagSet(&o).Parse(strings.Fields("-scrub-rate 3145728 -copy-rate 5242880")))
	s := &store{opt: o}
	d, err := blob.OpenDisk(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	buckets := func() (scrub, cp *rate.Limiter) {
		opt := s.dataOptions(d, "http://d", "http://meta")
		scrub, _ = opt.ScrubLimiter.(*rate.Limiter)
		cp, _ = opt.CopyLimiter.(*rate.Limiter)
		require.NotNil(t, scrub, "no scrub bucket")
		require.NotNil(t, cp, "no copy bucket")
		return scrub, cp
	}
	scrub, cp := buckets()
	assert.Equal(t, rate.Limit(3<<20), scrub.Limit(), "the scrub's rate")
	assert.Equal(t, rate.Limit(5<<20), cp.Limit(), "the copy's rate")
	assert.NotSame(t, scrub, cp, "scrubs and copies share a bucket")
	scrub2, cp2 := buckets()
	assert.NotSame(t, scrub, scrub2, "two data servers share a scrub bucket")
	assert.NotSame(t, cp, cp2, "two data servers share a copy bucket")
}

// -max-size is each role's own: an API server refuses a body over its
// limit, naming it; a data server refuses a blob over its own, and the
// API server, whose limit the object is within, says the data servers
// refused it, naming no limit of theirs.
func TestMaxSizeFlag(t *testing.T) {
	metaURL := urlOf.FindStringSubmatch(start(t, "-role", "meta", "-listen", "127.0.0.1:0", "-data", t.TempDir(), "-replicas", "1"))[1]
	start(t, "-role", "data", "-listen", "127.0.0.1:0", "-data", t.TempDir(), "-meta", metaURL, "-max-size", "10")
	apiURL := urlOf.FindStringSubmatch(start(t, "-role", "api", "-listen", "127.0.0.1:0", "-meta", metaURL, "-max-size", "20"))[1]
	for _, tc := range []struct {
		content string
		status  int
		says    string
	}{
		{"123456789012345678901", http.StatusRequestEntityTooLarge, "object larger than the limit of 20 bytes"},
		{"12345678901", http.StatusRequestEntityTooLarge, "object larger than the data servers take"},
		{"1234567890", http.StatusCreated, ""},
	} {
		req, err := http.NewRequest(http.MethodPut, apiURL+"/objects/"+tc.content, strings.NewReader(tc.content))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, tc.status, resp.StatusCode, "%d bytes: %s", len(tc.content), body)
		assert.Contains(t, string(body), tc.says, "%d bytes", len(tc.content))
	}
}

// An API server's client times a copy between data servers at the rate
// the metadata server times a repair's: with -copy-rate below the
// client's default (20 MiB/s), it would give up on a copy the data
// servers are still making at that pace.
func TestAPIClientTimesCopiesAtTheDataServersRate(t *testing.T) {
	for args, want := range map[string]int64{
		"":                     20 << 20,
		"-copy-rate 1048576":   1 << 20,
		"-scrub-rate 2097152":  2 << 20,
		"-copy-rate 104857600": 20 << 20,
	} {
		var o options
		require.NoError(t, newFlagSet(&o).Parse(strings.Fields(args)))
		s := &store{opt: o}
		assert.Equal(t, want, s.clientOptions("http://meta").CopyRate, "%q", args)
		assert.Equal(t, want, s.metaOptions(nil).RepairRate, "%q: the metadata server's RepairRate", args)
	}
}

// The metadata server runs with what its flags say: R, W, when a silent
// data server is suspect and then dead, how many versions a key keeps,
// and how long an unreferenced blob waits for GC; on the program's clock.
func TestTheMetadataServerTakesItsFlags(t *testing.T) {
	var o options
	require.NoError(t, newFlagSet(&o).Parse(strings.Fields("-replicas 3 -quorum 2 -timeout 7s -grace 45s -keep 4 -gc-grace 2h")))
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := &store{opt: o, clock: clock{now: func() time.Time { return at }}}
	got := s.metaOptions(nil)
	assert.Equal(t, 3, got.Replicas, "-replicas")
	assert.Equal(t, 2, got.Quorum, "-quorum")
	assert.Equal(t, 7*time.Second, got.Timeout, "-timeout")
	assert.Equal(t, 45*time.Second, got.Grace, "-grace")
	assert.Equal(t, 4, got.KeepVersions, "-keep")
	assert.Equal(t, 2*time.Hour, got.GCGrace, "-gc-grace")
	if assert.NotNil(t, got.Now, "the metadata server is off the program's clock") {
		assert.Equal(t, at, got.Now(), "the metadata server is off the program's clock")
	}
}

// A bad -listen or -admin is refused before anything starts (exit 2),
// naming the flag that gave it, and a busy admin port names -admin.
func TestBadAddressNamesItsFlag(t *testing.T) {
	for _, c := range []struct {
		flag string
		args []string
	}{
		{"-listen", []string{"-listen", "nonsense"}},
		{"-listen", []string{"-role", "meta", "-listen", "127.0.0.1:99999"}},
		{"-admin", []string{"-listen", "127.0.0.1:0", "-admin", "nonsense"}},
		{"-admin", []string{"-role", "gateway", "-targets", "http://127.0.0.1:8081", "-listen", "127.0.0.1:0", "-admin", "127.0.0.1:99999"}},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), c.args, &out)
			var usage *serve.UsageError
			require.ErrorAs(t, err, &usage)
			assert.True(t, strings.HasPrefix(err.Error(), c.flag+" "), "%q does not name %s", err, c.flag)
			assert.Empty(t, out.String(), "nothing started, so nothing to announce")
		})
	}

	ln, err := serve.Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	err = run(context.Background(), []string{"-listen", "127.0.0.1:0", "-admin", ln.Addr().String()}, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "pick another address with -admin")
	assert.NotContains(t, err.Error(), "-listen", "the admin listener is -admin's")
}

// A stop asked for while the store starts (Ctrl-C at once) is a clean
// stop, exit 0, in -role all as in every other role: the first
// heartbeats it cuts short are no failure.
func TestStopDuringStartIsClean(t *testing.T) {
	for _, args := range [][]string{
		{"-listen", "127.0.0.1:0"},
		{"-role", "meta", "-listen", "127.0.0.1:0"},
		{"-role", "api", "-listen", "127.0.0.1:0"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			var out bytes.Buffer
			err := run(ctx, args, &out)
			assert.NoError(t, err, "%s", out.String())
			assert.Equal(t, 0, serve.ExitCode(io.Discard, "07-object-storage", err))
		})
	}
}
