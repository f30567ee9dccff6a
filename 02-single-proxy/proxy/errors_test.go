package proxy_test

import (
	"bufio"
	"bytes"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/01-backends/deadaddr"
	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/02-single-proxy/proxytest"
)

// An unreachable backend is a 502 whose body says which backend and why;
// the proxy goes on answering, and forwards again once the backend is back.
func TestUnreachableBackendIsA502ThatSaysSo(t *testing.T) {
	addr, listen := deadaddr.Revivable(t)
	target := &url.URL{Scheme: "http", Host: addr}
	front := httptest.NewServer(proxy.New(target, nil))
	defer front.Close()

	for range 3 {
		resp, body := getBody(t, front.Client(), front.URL+"/echo")
		assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
		assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
		assert.Contains(t, body, "bad gateway: the backend "+target.Host+" is unreachable: ")
		assert.Contains(t, body, "dial tcp "+target.Host)
	}

	// The backend starts on the address the proxy points at.
	ln, err := listen()
	require.NoError(t, err, "listening on the dead address")
	back := &http.Server{Handler: backend.New("A")}
	go back.Serve(ln)
	defer back.Close()

	resp, body := getBody(t, front.Client(), front.URL+"/")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "Hello from backend A\n", body)
}

// A request ReverseProxy refuses before sending it (its Upgrade header
// names an invalid protocol) reaches ErrorHandler as the client sent it:
// in absolute form, its URL names the client's host, which the page must
// not call the backend.
func TestErrorPageDoesNotNameTheClientsHost(t *testing.T) {
	back := httptest.NewServer(backend.New("A"))
	defer back.Close()
	target, err := proxy.ParseTarget(back.URL)
	require.NoError(t, err)
	front := httptest.NewServer(proxy.New(target, nil))
	defer front.Close()

	conn, err := net.DialTimeout("tcp", front.Listener.Addr().String(), 10*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(conn, "GET http://internal-db.evil:5432/x HTTP/1.1\r\nHost: shop.example\r\n"+
		"Connection: close, Upgrade\r\nUpgrade: web\x80socket\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.Contains(t, string(body), "bad gateway: the backend is unreachable: client tried to switch to invalid protocol")
	assert.NotContains(t, string(body), "internal-db.evil")
}

// A proxy that sends the backend its own Host (exercise 3's answer with a
// Director), or a client that writes the backend's address in Host, makes
// the outgoing request's Host equal to its URL.Host: the page must still
// name the backend, which a rule "a URL.Host equal to r.Host may be the
// client's" would hide on every failure.
func TestErrorPageNamesTheBackendWhenItsHostIsSent(t *testing.T) {
	target := &url.URL{Scheme: "http", Host: deadaddr.New(t)}
	hostRewriting := proxy.New(target, nil)
	director := hostRewriting.Director
	hostRewriting.Director = func(r *http.Request) { // exercise 3, by Director
		director(r)
		r.Host = target.Host
	}
	for name, h := range map[string]http.Handler{
		"the proxy sends the target's Host": hostRewriting,
		"the client sends the target's Host": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Host = target.Host
			proxy.New(target, nil).ServeHTTP(w, r)
		}),
	} {
		front := httptest.NewServer(h)
		resp, body := getBody(t, front.Client(), front.URL+"/echo")
		front.Close()
		assert.Equal(t, http.StatusBadGateway, resp.StatusCode, name)
		assert.Contains(t, body, "bad gateway: the backend "+target.Host+" is unreachable: ", name)
	}
}

// The course's ErrorHandler passes the check the chapter's first exercise
// uses.
func TestErrorHandlerPassesTheCheck(t *testing.T) {
	proxytest.CheckErrorHandler(t, proxy.ErrorHandler)
}

// Pitfall: without an ErrorHandler the client gets a 502 with an empty
// body; why is only in the proxy's log.
func TestDefaultErrorHandlerSendsAnEmpty502(t *testing.T) {
	var logged lockedBuffer
	p := httputil.NewSingleHostReverseProxy(proxytest.DeadTarget(t))
	p.ErrorLog = log.New(&logged, "", 0)
	front := httptest.NewServer(p)
	defer front.Close()

	resp, body := getBody(t, front.Client(), front.URL+"/")
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.Empty(t, body)
	assert.Contains(t, logged.String(), "http: proxy error: dial tcp")
}

// Pitfall: an ErrorHandler that only logs writes no status, so the server
// sends 200 OK with an empty body: the client believes it succeeded.
func TestLogOnlyErrorHandlerSendsAnEmpty200(t *testing.T) {
	var logged lockedBuffer
	logger := log.New(&logged, "", 0)
	p := httputil.NewSingleHostReverseProxy(proxytest.DeadTarget(t))
	p.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		logger.Printf("proxy error: %v", err) // and nothing else: the bug
	}
	front := httptest.NewServer(p)
	defer front.Close()

	resp, body := getBody(t, front.Client(), front.URL+"/")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, body)
	assert.Contains(t, logged.String(), "proxy error: dial tcp")
}

// lockedBuffer is a bytes.Buffer that the proxy's goroutines may write to
// while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
