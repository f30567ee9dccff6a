package middleware_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/middleware"
)

// bodyClock is a fake body clock: it fires only when the test says, and
// says on resets when a Read has started it.
type bodyClock struct {
	fire   func()
	resets chan struct{}
}

func (c *bodyClock) Reset(time.Duration) bool {
	select {
	case c.resets <- struct{}{}:
	default: // the test has one to handle already
	}
	return true
}
func (c *bodyClock) Stop() bool { return true }

// fakeClocks returns an AfterFunc whose clocks reach the test on clocks.
func fakeClocks() (middleware.AfterFunc, chan *bodyClock) {
	clocks := make(chan *bodyClock, 4)
	return func(_ time.Duration, f func()) middleware.Timer {
		c := &bodyClock{fire: f, resets: make(chan struct{}, 1)}
		clocks <- c
		return c
	}, clocks
}

// stalledPut sends a PUT of 1000 bytes with 100 of them to url's server
// and then nothing, fires the body clock each time a Read starts it (a
// fire while no Read waits does nothing), and returns the answer.
func stalledPut(t *testing.T, url string, clocks chan *bodyClock) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	conn.SetReadDeadline(time.Now().Add(10 * time.Second)) // a bound on a hang, not a timing
	_, err = fmt.Fprintf(conn, "PUT /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n%s", strings.Repeat("x", 100))
	require.NoError(t, err)
	var clock *bodyClock
	select {
	case clock = <-clocks:
	case <-time.After(10 * time.Second):
		t.Fatal("no body clock started")
	}
	answer := make(chan error, 1)
	var resp *http.Response
	go func() {
		var err error
		resp, err = http.ReadResponse(bufio.NewReader(conn), nil)
		answer <- err
	}()
	for {
		select {
		case <-clock.resets:
			clock.fire()
		case err := <-answer:
			require.NoError(t, err)
			return resp
		}
	}
}

// A client that stops sending its body gets 408 on a closed connection,
// whatever the handler then answers: a proxy's 502 for a body that broke,
// or nothing at all.
func TestBodyTimeoutIs408(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"handler answers 502": func(w http.ResponseWriter, r *http.Request) {
			if _, err := io.ReadAll(r.Body); err != nil {
				assert.ErrorIs(t, err, middleware.ErrBodyTimeout)
				http.Error(w, "bad gateway: "+err.Error(), http.StatusBadGateway)
				return
			}
			w.WriteHeader(http.StatusCreated)
		},
		"handler answers nothing": func(w http.ResponseWriter, r *http.Request) { io.ReadAll(r.Body) },
	} {
		t.Run(name, func(t *testing.T) {
			after, clocks := fakeClocks()
			srv := httptest.NewServer(middleware.BodyTimeout(time.Minute, after)(h))
			t.Cleanup(srv.Close)
			resp := stalledPut(t, srv.URL, clocks)
			body, _ := io.ReadAll(resp.Body)
			assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode, string(body))
			assert.True(t, resp.Close, "the rest of the body will not be read")
			assert.Contains(t, string(body), "request body timeout")
		})
	}
}

// A body that arrives is passed on as it is, and a request without one
// starts no clock.
func TestBodyTimeoutPassesWholeBodies(t *testing.T) {
	after, clocks := fakeClocks()
	srv := httptest.NewServer(middleware.BodyTimeout(time.Minute, after)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		assert.NoError(t, err)
		fmt.Fprintf(w, "%d bytes", len(b))
	})))
	t.Cleanup(srv.Close)
	resp, err := http.Post(srv.URL, "text/plain", strings.NewReader(strings.Repeat("y", 5000)))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "5000 bytes", string(body))
	assert.Len(t, clocks, 1)

	resp, err = http.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Len(t, clocks, 1, "a GET without a body started a clock")
}
