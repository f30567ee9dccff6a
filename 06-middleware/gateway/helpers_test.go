package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
)

// fakeSource is a configuration a test can change between reloads.
type fakeSource struct {
	mu   sync.Mutex
	text string
}

func (s *fakeSource) set(text string) { s.mu.Lock(); s.text = text; s.mu.Unlock() }

func (s *fakeSource) read() (string, []byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "test.yaml", []byte(s.text), nil
}

// noTicks is a ticker that never ticks: tests run health checks with
// CheckNow.
func noTicks(time.Duration) (<-chan time.Time, func()) { return nil, func() {} }

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
	src := &fakeSource{text: text}
	ctx, cancel := context.WithCancel(context.Background())
	gw, err := New(ctx, src.read, Options{NewTicker: noTicks, Logger: discardLogger()})
	require.NoError(t, err)
	srv := httptest.NewServer(gw)
	t.Cleanup(func() { srv.Close(); cancel(); gw.Close() })
	return gw, srv, src
}

// get sends a request and returns the status and body.
func do(t *testing.T, c *http.Client, method, url string, header http.Header, body string) (int, string) {
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
	return resp.StatusCode, string(data)
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
