package rewrite

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/01-backends/deadaddr"
)

// startBackend serves h (backend A when nil) and returns its URL.
func startBackend(t *testing.T, h http.Handler) *url.URL {
	t.Helper()
	if h == nil {
		h = backend.New("A")
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return mustParse(t, srv.URL)
}

// rawServer accepts connections on a loopback port until the test ends
// and runs serve on each (with a reader over it, closing it after), for
// a backend that writes its answers byte by byte; it returns host:port.
func rawServer(t *testing.T, serve func(c net.Conn, br *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c, bufio.NewReader(c))
			}()
		}
	}()
	return ln.Addr().String()
}

// startProxy serves p and returns the base URL clients use.
func startProxy(t *testing.T, p http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv.URL
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

// get sends GET url with header (and host, if not empty) and returns the
// response with its body read.
func get(t *testing.T, rawURL string, header http.Header, host string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

// echo sends GET url with header and returns what backend A's /echo saw.
func echo(t *testing.T, rawURL string, header http.Header, host string) backend.Echo {
	t.Helper()
	resp, body := get(t, rawURL, header, host)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	var e backend.Echo
	require.NoError(t, json.Unmarshal([]byte(body), &e), body)
	return e
}

// deadURL returns the URL of a loopback address where nothing listens, and
// nothing else can start listening until the test ends (deadaddr.New).
func deadURL(t *testing.T) *url.URL {
	t.Helper()
	return mustParse(t, deadaddr.URL(t))
}

// sendRaw writes request, as it is, to the server at base (an http:// URL)
// over a new connection and returns the response, with its body read: for
// requests that http.Client will not send, such as an absolute-form
// request line.
func sendRaw(t *testing.T, base, request string) (*http.Response, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 10*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(conn, request)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "the server closed the connection without an answer")
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}
