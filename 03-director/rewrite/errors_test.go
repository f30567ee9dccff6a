package rewrite

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/02-single-proxy/proxy"
)

// TestErrorsAreExplainedAndTheGatewayKeepsServing sends a request to a
// backend that is down, one to a backend that is too slow, then one to a
// healthy backend, all through one server.
func TestErrorsAreExplainedAndTheGatewayKeepsServing(t *testing.T) {
	slow := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers; gives up when the proxy does
	}))
	dead := deadURL(t)
	transport := proxy.NewTransport()
	mux := http.NewServeMux()
	mux.Handle("/dead/", New(dead, Options{StripPrefix: "/dead", Transport: transport}))
	mux.Handle("/slow/", New(slow, Options{StripPrefix: "/slow", Transport: impatient()}))
	mux.Handle("/live/", New(startBackend(t, nil), Options{StripPrefix: "/live", Transport: transport}))
	p := startProxy(t, mux)

	resp, body := get(t, p+"/dead/", nil, "")
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.Contains(t, body, "bad gateway: the backend "+dead.Host+" is unreachable: dial tcp "+dead.Host)

	resp, body = get(t, p+"/slow/", nil, "")
	assert.Equal(t, http.StatusGatewayTimeout, resp.StatusCode)
	assert.Equal(t, "gateway timeout: the backend "+slow.Host+" did not answer in time: net/http: timeout awaiting response headers\n", body)

	resp, body = get(t, p+"/live/", nil, "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "Hello from backend A\n", body)
}

// impatient is a transport that waits 50 ms for a response header, for
// the backend that never answers. Only that route has it: a healthy
// backend's answer must not race so short a deadline on a loaded machine.
func impatient() *http.Transport {
	t := proxy.NewTransport()
	t.ResponseHeaderTimeout = 50 * time.Millisecond
	return t
}

func TestPickerErrorIs503(t *testing.T) {
	p := startProxy(t, NewPicking(func(*http.Request) (*url.URL, error) {
		return nil, fmt.Errorf("%w: every backend is down", ErrNoTarget)
	}, Options{}))
	resp, body := get(t, p+"/", nil, "")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "service unavailable: no backend available: every backend is down\n", body)
}

func TestStatus(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	dialTimeout := &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}
	for _, tc := range []struct {
		err  error
		want int
	}{
		{dial, http.StatusBadGateway},
		{dialTimeout, http.StatusGatewayTimeout},
		{errors.New("malformed HTTP response"), http.StatusBadGateway},
		{context.DeadlineExceeded, http.StatusGatewayTimeout},
		{fmt.Errorf("picking: %w", ErrNoTarget), http.StatusServiceUnavailable},
		{context.Canceled, StatusClientClosedRequest},
		{fmt.Errorf("readfrom: %w", fmt.Errorf("%w: %w", ErrRequestBody, io.ErrUnexpectedEOF)), http.StatusBadRequest},
	} {
		assert.Equal(t, tc.want, Status(tc.err), "Status(%v)", tc.err)
	}
}

func TestClientGoneGetsNoPage(t *testing.T) {
	rec := httptest.NewRecorder()
	ErrorHandler(rec, httptest.NewRequest(http.MethodGet, "http://backend/", nil), context.Canceled)
	assert.Equal(t, StatusClientClosedRequest, rec.Code)
	assert.Empty(t, rec.Body.String())
}

// TestErrorWithoutABackendSaysNoneWasPicked: a Picker's error that does not
// wrap ErrNoTarget reaches ErrorHandler with the client's request, which
// names no backend.
func TestErrorWithoutABackendSaysNoneWasPicked(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		body string
	}{
		{errors.New("the balancer is broken"), http.StatusBadGateway, "bad gateway: no backend was picked: the balancer is broken\n"},
		{context.DeadlineExceeded, http.StatusGatewayTimeout, "gateway timeout: no backend was picked: context deadline exceeded\n"},
	} {
		p := NewPicking(func(*http.Request) (*url.URL, error) { return nil, tc.err }, Options{})
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		assert.Equal(t, tc.code, rec.Code, "%v", tc.err)
		assert.Equal(t, tc.body, rec.Body.String())

		// In an absolute-form request the client names a host, which the
		// request's URL keeps: it is not a backend, and must not be named
		// as one.
		resp, body := sendRaw(t, startProxy(t, p), "GET http://internal-db.evil:5432/x HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n")
		assert.Equal(t, tc.code, resp.StatusCode, "%v, absolute form", tc.err)
		assert.Equal(t, tc.body, body, "absolute form")
	}
}

// TestErrorBeforeSendingNamesThePickedBackend sends a request that
// ReverseProxy refuses after the pick but before sending it (its Upgrade
// header names an invalid protocol): the error handler then gets the
// client's request, whose URL names the client's host, not the backend.
func TestErrorBeforeSendingNamesThePickedBackend(t *testing.T) {
	target := startBackend(t, nil)
	p := startProxy(t, New(target, Options{}))
	resp, body := sendRaw(t, p, "GET http://internal-db.evil:5432/x HTTP/1.1\r\nHost: shop.example\r\n"+
		"Connection: Upgrade, close\r\nUpgrade: web\x80socket\r\n\r\n")
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.Contains(t, body, "the backend "+target.Host+" failed", "the page should name the picked backend")
	assert.NotContains(t, body, "internal-db.evil")
}

func TestPickerWithNeitherTargetNorErrorIs503(t *testing.T) {
	p := startProxy(t, NewPicking(func(*http.Request) (*url.URL, error) { return nil, nil }, Options{}))
	resp, body := get(t, p+"/", nil, "")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "service unavailable: no backend available: the Picker returned no target and no error\n", body)
}

// TestHideBackend sends every kind of failure through proxies with
// HideBackend: each answer keeps its status and says what kind of failure
// it was, and none names a backend or quotes a transport error.
func TestHideBackend(t *testing.T) {
	slow := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	transport := proxy.NewTransport()
	opts := Options{HideBackend: true, ErrorPages: true, Transport: transport}
	mux := http.NewServeMux()
	mux.Handle("/dead/", New(deadURL(t), Options{StripPrefix: "/dead", HideBackend: true, Transport: transport}))
	mux.Handle("/slow/", New(slow, Options{StripPrefix: "/slow", HideBackend: true, Transport: impatient()}))
	mux.Handle("/live/", New(startBackend(t, nil), Options{StripPrefix: "/live", HideBackend: true, ErrorPages: true, Transport: transport}))
	mux.Handle("/none/", NewPicking(func(*http.Request) (*url.URL, error) {
		return nil, fmt.Errorf("%w: every backend is down (10.0.0.7:8080 failed)", ErrNoTarget)
	}, opts))
	mux.Handle("/broken/", NewPicking(func(*http.Request) (*url.URL, error) {
		return nil, errors.New("cannot reach the registry at 10.0.0.9:2379")
	}, opts))
	p := startProxy(t, mux)

	for _, tc := range []struct {
		path string
		code int
		body string
	}{
		{"/dead/", http.StatusBadGateway, "bad gateway: the backend is unreachable\n"},
		{"/slow/", http.StatusGatewayTimeout, "gateway timeout: the backend did not answer in time\n"},
		{"/live/status/503", http.StatusServiceUnavailable, "gateway: the backend answered 503 Service Unavailable\n"},
		{"/none/", http.StatusServiceUnavailable, "service unavailable: no backend can take the request\n"},
		{"/broken/", http.StatusBadGateway, "bad gateway: no backend was picked\n"},
	} {
		resp, body := get(t, p+tc.path, nil, "")
		assert.Equal(t, tc.code, resp.StatusCode, tc.path)
		assert.Equal(t, tc.body, body, tc.path)
		assert.NotContains(t, body, "127.0.0.1", "%s: the answer names a backend", tc.path)
		assert.NotContains(t, body, "10.0.0.", "%s: the answer quotes the error", tc.path)
	}

	// An ErrorHandler of the caller's own is kept.
	mine := func(w http.ResponseWriter, r *http.Request, err error) { http.Error(w, "mine", http.StatusTeapot) }
	rec := httptest.NewRecorder()
	NewPicking(func(*http.Request) (*url.URL, error) { return nil, ErrNoTarget }, Options{HideBackend: true, ErrorHandler: mine}).
		ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusTeapot, rec.Code)
}

// TestBodyOverALimitIs413: a request body cut off by an http.MaxBytesReader
// in front of the proxy fails the transport's write to the backend; the
// fault is the client's, so the answer is 413, not a 502 that blames the
// backend (and names it).
func TestBodyOverALimitIs413(t *testing.T) {
	target := startBackend(t, nil)
	for _, hide := range []bool{false, true} {
		p := startProxy(t, http.MaxBytesHandler(New(target, Options{HideBackend: hide}), 10))
		resp, err := http.Post(p+"/echo", "text/plain", strings.NewReader(strings.Repeat("x", 64<<10)))
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "HideBackend %v", hide)
		assert.Equal(t, "content too large: the limit is 10 bytes\n", string(body), "HideBackend %v", hide)
	}
	assert.Equal(t, http.StatusRequestEntityTooLarge, Status(fmt.Errorf("write: %w", &http.MaxBytesError{Limit: 10})))
}

// TestBrokenRequestBodyIs400: a body the proxy cannot read from the
// client (a chunk length that is not hex) fails the round trip with the
// body's error. That is the client's fault: a 400 that says the body
// could not be read, not a 502 that blames a healthy backend (in the
// answer and in the log, which an operator reads to find a broken one).
func TestBrokenRequestBodyIs400(t *testing.T) {
	target := startBackend(t, nil)
	for _, hide := range []bool{false, true} {
		p := startProxy(t, New(target, Options{HideBackend: hide}))
		resp, body := sendRaw(t, p, "POST /echo HTTP/1.1\r\nHost: shop.example\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n")
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "HideBackend %v: %s", hide, body)
		assert.True(t, strings.HasPrefix(body, "bad request: the request body could not be read"), "HideBackend %v: %q", hide, body)
		assert.NotContains(t, body, target.Host, "HideBackend %v: the backend is not at fault, so not named", hide)
	}

	// A body cut short: the client promises 10 bytes, sends 3 and ends
	// its side of the connection. The transport reports it as its own
	// write error ("readfrom tcp ...: unexpected EOF"), or, if the server
	// has seen the connection end first, the request is cancelled: 400 or
	// 499, the client's fault either way, never a 502.
	p := startProxy(t, New(target, Options{}))
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(p, "http://"), 10*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(conn, "POST /echo HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 10\r\n\r\nabc")
	require.NoError(t, err)
	require.NoError(t, conn.(*net.TCPConn).CloseWrite())
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	cut, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Contains(t, []int{http.StatusBadRequest, StatusClientClosedRequest}, resp.StatusCode, "a body cut short")
	assert.NotContains(t, string(cut), target.Host, "a body cut short: the backend is not at fault, so not named")
}

// TestBrokenBodyAnswerQuotesOnlyTheBody: the transport reports a body it
// could not read in its own words, which name the backend's address
// (readfrom tcp 10.0.0.5:41000->10.0.0.7:8080: ...). The 400 quotes the
// body's error, not those words: the client's fault, not the backend's.
func TestBrokenBodyAnswerQuotesOnlyTheBody(t *testing.T) {
	body := clientBody{io.NopCloser(iotest.ErrReader(io.ErrUnexpectedEOF))}
	_, readErr := body.Read(make([]byte, 1))
	err := &net.OpError{Op: "readfrom", Net: "tcp",
		Source: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 5), Port: 41000},
		Addr:   &net.TCPAddr{IP: net.IPv4(10, 0, 0, 7), Port: 8080},
		Err:    readErr}
	require.ErrorIs(t, err, ErrRequestBody)

	rec := httptest.NewRecorder()
	ErrorHandler(rec, httptest.NewRequest(http.MethodPost, "http://10.0.0.7:8080/echo", nil), err)
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Equal(t, "bad request: the request body could not be read: unexpected EOF\n", rec.Body.String())
}

// A whole body, chunked or of a declared length, still goes through:
// clientBody marks the body's read errors as the client's, but not the
// io.EOF that ends it, which the transport must see as such (wrapped, it
// is an error like any other, and every upload would fail as broken).
func TestAWholeRequestBodyGoesThrough(t *testing.T) {
	var mu sync.Mutex
	var got []string
	target := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
	}))
	p := startProxy(t, New(target, Options{}))
	for _, req := range []string{
		"POST / HTTP/1.1\r\nHost: shop.example\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 5\r\n\r\nhello",
	} {
		resp, body := sendRaw(t, p, req)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%q: %s", req, body)
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"hello", "hello"}, got)
}
