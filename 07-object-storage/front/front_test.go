package front_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/deadaddr"
	"github.com/gocourse/gateway/06-middleware/config"
	"github.com/gocourse/gateway/06-middleware/gateway"
	"github.com/gocourse/gateway/07-object-storage/front"
)

// newGateway serves the program's gateway configuration in front of
// targets.
func newGateway(t *testing.T, s front.Settings) string {
	t.Helper()
	s.Listen, s.Admin = "127.0.0.1:0", ""
	if s.APIKey == "" {
		s.APIKey = "k"
	}
	if s.Rate == 0 {
		s.Rate = 1e6
	}
	if s.MaxBytes == 0 {
		s.MaxBytes = 1 << 30
	}
	src := front.Source(s)
	ctx, cancel := context.WithCancel(context.Background())
	g, err := gateway.New(ctx, src, gateway.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	srv := httptest.NewServer(g)
	t.Cleanup(func() { srv.Close(); g.Close(); cancel() })
	return srv.URL
}

// recorder is an API server stand-in that records which paths it served.
type recorder struct {
	name string
	mu   sync.Mutex
	seen []string // "METHOD path?query"
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/health" {
		return
	}
	rec.mu.Lock()
	rec.seen = append(rec.seen, r.Method+" "+r.URL.RequestURI())
	rec.mu.Unlock()
	io.Copy(io.Discard, r.Body)
	fmt.Fprint(w, rec.name)
}

func send(t *testing.T, method, url, key string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("X-Api-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// The template is valid for any flag values: values go in as JSON, so a
// key with quotes, colons or a newline is still one string, not YAML.
func TestGatewayConfigTakesAnyValue(t *testing.T) {
	key := "a\"b: c\n- d # e"
	data, err := front.Config(front.Settings{
		Listen: "127.0.0.1:0", Admin: "127.0.0.1:0", Targets: []string{"http://127.0.0.1:1", "http://127.0.0.1:2"},
		APIKey: key, Rate: 2.5, MaxBytes: 1 << 20,
	})
	require.NoError(t, err)
	cfg, err := config.Parse("gateway.yaml", data, gateway.DefaultRegistry())
	require.NoError(t, err)
	pool := cfg.Pools["api"]
	assert.Equal(t, "chash", pool.Balancer)
	assert.Equal(t, "path", pool.Key)
	var targets []string
	for _, tg := range pool.Targets {
		targets = append(targets, tg.URL.String())
	}
	if diff := cmp.Diff([]string{"http://127.0.0.1:1", "http://127.0.0.1:2"}, targets); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	var names []string
	for _, m := range cfg.Routes[0].Middleware {
		names = append(names, m.Name)
		if m.Name == "auth" {
			assert.Equal(t, key, m.Options.(*gateway.AuthOptions).APIKeys[0].Key)
		}
		if m.Name == "body-timeout" {
			assert.Equal(t, time.Minute, m.Options.(*gateway.BodyTimeoutOptions).After)
		}
		if m.Name == "rate-limit" {
			// -rate's help: a burst of twice the rate.
			o := m.Options.(*gateway.RateLimitOptions)
			assert.Equal(t, 2.5, o.Rate)
			assert.Equal(t, 5, o.Burst, "burst: twice the rate")
		}
	}
	if diff := cmp.Diff([]string{"recover", "request-id", "access-log", "metrics", "body-timeout", "rate-limit", "auth", "body-limit", "cache"}, names); diff != "" {
		t.Errorf("middleware (-want +got):\n%s", diff)
	}
	assert.Zero(t, cfg.Listen.ReadTimeout, "a large upload must not be cut off")
	assert.Zero(t, cfg.Listen.WriteTimeout, "a large download must not be cut off")
	assert.Equal(t, time.Minute, cfg.Listen.SendTimeout, "a client that stops reading is let go")
	// An API server sends its headers only once every copy of a PUT is on
	// disk, or a GET's first chunk (a blob without a list: all of it) is
	// verified: no bound on that wait, where chapter 06's default is a
	// minute. Once an answer has begun, a minute of silence still ends it.
	assert.Zero(t, pool.Transport.ResponseHeaderTimeout, "a large PUT's answer must not be cut off")
	assert.Equal(t, time.Minute, pool.Transport.ResponseBodyTimeout, "an API server silent mid-answer is let go")
	// With no limit on a whole request, a client that stops mid-body is
	// bounded by body-timeout (tested through the gateway in chapter 06).
}

// Every request for one key goes to one API server, whatever its method
// or query string; different keys spread over the servers; listings work.
func TestGatewayRoutesByKey(t *testing.T) {
	recs := []*recorder{{name: "A"}, {name: "B"}, {name: "C"}}
	var targets []string
	for _, rec := range recs {
		srv := httptest.NewServer(rec)
		t.Cleanup(srv.Close)
		targets = append(targets, srv.URL)
	}
	gw := newGateway(t, front.Settings{Targets: targets})

	owner := map[string]string{}
	for i := range 30 {
		key := fmt.Sprintf("k%d", i)
		for _, r := range []struct{ method, query string }{
			{http.MethodPut, ""}, {http.MethodGet, ""}, {http.MethodGet, "?version=1"}, {http.MethodHead, "?version=2"}, {http.MethodDelete, ""},
		} {
			status, body := send(t, r.method, gw+"/objects/"+key+r.query, "k", strings.NewReader("x"))
			require.Equal(t, http.StatusOK, status)
			if r.method == http.MethodHead {
				continue
			}
			if owner[key] == "" {
				owner[key] = body
			}
			assert.Equal(t, owner[key], body, "%s %s%s went to another API server", r.method, key, r.query)
		}
	}
	count := map[string]int{}
	for _, o := range owner {
		count[o]++
	}
	assert.Len(t, count, 3, "30 keys should reach all 3 API servers: %v", count)

	status, _ := send(t, http.MethodGet, gw+"/objects/?prefix=k&limit=5", "k", nil)
	assert.Equal(t, http.StatusOK, status)
	var listed []string
	for _, rec := range recs {
		for _, s := range rec.seen {
			if strings.HasPrefix(s, "GET /objects/?") {
				listed = append(listed, s)
			}
		}
	}
	if diff := cmp.Diff([]string{"GET /objects/?prefix=k&limit=5"}, listed); diff != "" {
		t.Errorf("listing as the API servers saw it (-want +got):\n%s", diff)
	}
}

// When an API server dies, its keys move to another (the gateway retries
// a request that could not reach it, before any health check has seen
// it go), and every other key stays where it was: the cost is the
// moved keys' cold caches.
func TestGatewayMovesOnlyADeadAPIServersKeys(t *testing.T) {
	var servers []*httptest.Server
	var targets []string
	for _, name := range []string{"A", "B", "C"} {
		srv := deadaddr.NewServer(t, &recorder{name: name}) // A, closed below, keeps refusing
		t.Cleanup(srv.Close)
		servers = append(servers, srv)
		targets = append(targets, srv.URL)
	}
	gw := newGateway(t, front.Settings{Targets: targets})
	owner := map[string]string{}
	for i := range 30 {
		key := fmt.Sprintf("k%d", i)
		status, body := send(t, http.MethodGet, gw+"/objects/"+key, "k", nil)
		require.Equal(t, http.StatusOK, status)
		owner[key] = body
	}
	servers[0].Close() // A
	moved := 0
	for i := range 30 {
		key := fmt.Sprintf("k%d", i)
		for _, method := range []string{http.MethodGet, http.MethodPut} {
			status, body := send(t, method, gw+"/objects/"+key, "k", strings.NewReader("x"))
			if !assert.Equal(t, http.StatusOK, status, "%s %s once A is down", method, key) {
				continue
			}
			if owner[key] == "A" {
				assert.NotEqual(t, "A", body)
				if method == http.MethodGet {
					moved++
				}
			} else {
				assert.Equal(t, owner[key], body, "%s %s moved, though its API server is up", method, key)
			}
		}
	}
	assert.Positive(t, moved, "no key was A's: the test checked no move")
}

// The gateway's middleware: no key is 401, a body over -max-size is 413,
// and neither reaches an API server; a client over its rate gets 429.
func TestGatewayMiddleware(t *testing.T) {
	rec := &recorder{name: "A"}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	gw := newGateway(t, front.Settings{Targets: []string{srv.URL}, MaxBytes: 10})

	status, _ := send(t, http.MethodGet, gw+"/objects/k", "", nil)
	assert.Equal(t, http.StatusUnauthorized, status)
	status, _ = send(t, http.MethodPut, gw+"/objects/k", "k", strings.NewReader("eleven byte"))
	assert.Equal(t, http.StatusRequestEntityTooLarge, status)
	assert.Empty(t, rec.seen)

	gw = newGateway(t, front.Settings{Targets: []string{srv.URL}, Rate: 0.001}) // a burst of 1
	status, _ = send(t, http.MethodGet, gw+"/objects/k", "k", nil)
	assert.Equal(t, http.StatusOK, status)
	status, _ = send(t, http.MethodGet, gw+"/objects/k", "k", nil)
	assert.Equal(t, http.StatusTooManyRequests, status)
}

// A PUT body larger than the retry limit (64 KiB) is streamed: the API
// server reads its first bytes while the client still holds the rest. A
// GET response is streamed too: the client reads its first bytes before
// the API server has written the rest. A gateway that buffered either
// would deadlock here, and the test fails at its bound on a hang.
func TestGatewayStreams(t *testing.T) {
	gotFirst := make(chan struct{})  // the API server has the PUT's first MiB
	readFirst := make(chan struct{}) // the client has the GET's first MiB
	const chunk = 1 << 20
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/health":
		case r.Method == http.MethodPut:
			if _, err := io.ReadFull(r.Body, make([]byte, chunk)); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			close(gotFirst)
			n, _ := io.Copy(io.Discard, r.Body)
			fmt.Fprint(w, chunk+n)
		case r.Method == http.MethodGet:
			w.Header().Set("Content-Length", fmt.Sprint(2*chunk))
			w.Write(make([]byte, chunk))
			http.NewResponseController(w).Flush()
			select {
			case <-readFirst:
			case <-r.Context().Done():
				return
			}
			w.Write(make([]byte, chunk))
		}
	}))
	defer srv.Close()
	gw := newGateway(t, front.Settings{Targets: []string{srv.URL}})
	// A bound on a hang, not a timing: each wait below has its own, long
	// enough for a loaded CI machine under -race (one shared 10 s bound
	// ran out once in a -count=3 -shuffle run of the whole workspace).
	const hang = 60 * time.Second

	body, pw := io.Pipe()
	done := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPut, gw+"/objects/big", body)
		req.ContentLength = 2 * chunk
		req.Header.Set("X-Api-Key", "k")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- string(b)
	}()
	_, err := pw.Write(make([]byte, chunk))
	require.NoError(t, err)
	select {
	case <-gotFirst:
	case <-time.After(hang):
		pw.Close()
		t.Fatal("the API server did not get the first MiB while the client held the second: the gateway buffers PUT bodies")
	}
	_, err = pw.Write(make([]byte, chunk))
	require.NoError(t, err)
	pw.Close()
	assert.Equal(t, fmt.Sprint(2*chunk), <-done)

	req, err := http.NewRequest(http.MethodGet, gw+"/objects/big", nil)
	require.NoError(t, err)
	req.Header.Set("X-Api-Key", "k")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		resp *http.Response
		err  error
	}
	first := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req.WithContext(ctx))
		if err == nil {
			_, err = io.ReadFull(resp.Body, make([]byte, chunk))
		}
		first <- result{resp, err}
	}()
	var resp *http.Response
	select {
	case r := <-first:
		require.NoError(t, r.err)
		resp = r.resp
	case <-time.After(hang):
		cancel()
		t.Fatal("the client did not get the first MiB before the API server wrote the second: the gateway buffers responses")
	}
	defer resp.Body.Close()
	close(readFirst)
	n, err := io.Copy(io.Discard, resp.Body)
	require.NoError(t, err)
	assert.Equal(t, int64(chunk), n)
}

// A query that does not parse is a 400 at the front door: the gateway's
// proxy would drop the pair it cannot read, and "?version=1;" on a
// DELETE, which the API server refuses, would reach it without the
// version and add a delete marker.
func TestGatewayRefusesAnUnreadableQuery(t *testing.T) {
	rec := &recorder{name: "A"}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	gw := newGateway(t, front.Settings{Targets: []string{srv.URL}})
	for _, q := range []string{"?version=1;", "?version=%zz", "?version=1&x=%"} {
		status, body := send(t, http.MethodDelete, gw+"/objects/k"+q, "k", nil)
		assert.Equal(t, http.StatusBadRequest, status, "%s: %s", q, body)
	}
	assert.Empty(t, rec.seen, "a refused request reached the API server")
}

// full is an API server stand-in whose data servers are full: it
// answers every PUT as the API server does then, and counts them.
type full struct {
	mu   sync.Mutex
	puts int
}

func (f *full) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/health" {
		return
	}
	io.Copy(io.Discard, r.Body)
	f.mu.Lock()
	f.puts++
	f.mu.Unlock()
	http.Error(w, "no room for the blob", http.StatusInsufficientStorage)
}

// An API server's 507 reaches the client as it was sent, is not retried
// on another API server (the data servers behind them are the same), and
// does not count as a failure of the API server for passive health: with
// max_fails 1 it would take a healthy server out for fail_timeout, and
// send its keys to another whose caches are cold.
func TestGatewayPassesA507Through(t *testing.T) {
	backends := []*full{{}, {}}
	var targets []string
	for _, b := range backends {
		srv := httptest.NewServer(b)
		t.Cleanup(srv.Close)
		targets = append(targets, srv.URL)
	}
	gw := newGateway(t, front.Settings{Targets: targets})
	for i := range 3 {
		status, body := send(t, http.MethodPut, gw+"/objects/k", "k", strings.NewReader("x"))
		assert.Equal(t, http.StatusInsufficientStorage, status, "PUT %d", i)
		assert.Equal(t, "no room for the blob\n", body, "PUT %d", i)
	}
	var puts []int
	for _, b := range backends {
		b.mu.Lock()
		puts = append(puts, b.puts)
		b.mu.Unlock()
	}
	assert.ElementsMatch(t, []int{3, 0}, puts, "PUTs per API server: a 507 retried, or its server taken out")
}
