package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
)

// fakeSource is a configuration a test can change between reloads.
type fakeSource struct {
	mu   sync.Mutex
	text string
	err  error // what reading the file fails with, if not nil
}

func (s *fakeSource) set(text string) { s.mu.Lock(); s.text = text; s.mu.Unlock() }

func (s *fakeSource) fail(err error) { s.mu.Lock(); s.err = err; s.mu.Unlock() }

func (s *fakeSource) read() (string, []byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "test.yaml", []byte(s.text), s.err
}

// backends starts n demo backends (A, B, ...) and returns their servers.
func backends(t *testing.T, n int) []*httptest.Server {
	t.Helper()
	srvs := make([]*httptest.Server, n)
	for i := range srvs {
		srvs[i] = httptest.NewServer(backend.New(backend.Name(i)))
		t.Cleanup(srvs[i].Close)
	}
	return srvs
}

// fill replaces ${A}, ${B}, ... in text with the servers' URLs.
func fill(text string, srvs []*httptest.Server) string {
	for i, s := range srvs {
		text = strings.ReplaceAll(text, "${"+backend.Name(i)+"}", s.URL)
	}
	return text
}

// start builds a gateway from text and serves it; the gateway and its
// server stop when the test ends.
func start(t *testing.T, text string) (*Gateway, *httptest.Server, *fakeSource) {
	t.Helper()
	return startWith(t, text, Options{})
}

// startWith is start with opts (ManualChecks and the logger are set).
func startWith(t *testing.T, text string, opts Options) (*Gateway, *httptest.Server, *fakeSource) {
	t.Helper()
	src := &fakeSource{text: text}
	ctx, cancel := context.WithCancel(context.Background())
	opts.ManualChecks, opts.Logger = true, discardLogger()
	gw, err := New(ctx, src.read, opts)
	require.NoError(t, err)
	srv := httptest.NewServer(gw)
	t.Cleanup(func() { srv.Close(); cancel(); gw.Close() })
	return gw, srv, src
}

// reply is what a request got.
type reply struct {
	code    int
	body    string
	backend string // the X-Backend header: which demo backend answered
}

// send sends a request and returns what it got.
func send(t *testing.T, c *http.Client, method, url string, header http.Header, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if body == "" {
		req.Body = http.NoBody
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if h := header.Get("Host"); h != "" {
		req.Host = h
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return reply{resp.StatusCode, string(data), resp.Header.Get("X-Backend")}
}

// do is send returning the status and body.
func do(t *testing.T, c *http.Client, method, url string, header http.Header, body string) (int, string) {
	t.Helper()
	r := send(t, c, method, url, header, body)
	return r.code, r.body
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	return do(t, http.DefaultClient, http.MethodGet, url, nil, "")
}

// who returns the backend name in a demo backend's greeting.
func who(body string) string {
	var name string
	fmt.Sscanf(body, "Hello from backend %s", &name)
	return name
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// receive waits for ch, and fails the test if nothing comes within 10
// seconds: a bound on a test that would otherwise hang, not a timing.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("waited 10s for %s", what)
		panic("unreachable")
	}
}

// countOpen starts srv and returns the number of its connections open
// now: opened, and neither closed nor hijacked.
func countOpen(t *testing.T, srv *httptest.Server) *atomic.Int32 {
	var open atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return &open
}

// waitListenerClosed waits until nothing accepts connections at url
// ("http://host:port"): a shutdown has begun.
func waitListenerClosed(t *testing.T, url string) {
	t.Helper()
	host := strings.TrimPrefix(url, "http://")
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", host)
		if err == nil {
			c.Close()
		}
		return err != nil
	}, 10*time.Second, time.Millisecond, "the listener at %s is still open", url)
}
