package middleware_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/06-middleware/middleware/bodytest"
)

// A client that stops sending its body gets 408 on a closed connection,
// whatever the handler then answers: a proxy's 502 for a body that broke,
// or nothing at all. The server lets the silent client go at once,
// instead of waiting to discard the rest of its body.
func TestBodyTimeoutIs408(t *testing.T) {
	for name, h := range map[string]func(t *testing.T) http.HandlerFunc{
		"handler answers 502": func(t *testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				if _, err := io.ReadAll(r.Body); err != nil {
					assert.ErrorIs(t, err, middleware.ErrBodyTimeout)
					w.Header().Set("Set-Cookie", "session=abc") // a proxy copies its upstream's
					w.Header().Set("Cache-Control", "public, max-age=3600")
					http.Error(w, "bad gateway: "+err.Error(), http.StatusBadGateway)
					return
				}
				w.WriteHeader(http.StatusCreated)
			}
		},
		"handler answers nothing": func(*testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { io.ReadAll(r.Body) }
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(middleware.RequestID(nil)(middleware.BodyTimeout(50 * time.Millisecond)(h(t))))
			t.Cleanup(srv.Close)
			conn, resp := bodytest.StalledPutConn(t, srv.URL, "/upload", "", make([]byte, 1000), 100)
			body, _ := io.ReadAll(resp.Body)
			assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode, string(body))
			assert.True(t, resp.Close, "the rest of the body will not be read")
			assert.NotEmpty(t, resp.Header.Get(middleware.HeaderRequestID), "set further out: kept")
			assert.Empty(t, resp.Header.Values("Set-Cookie"), "the handler's: dropped")
			assert.Empty(t, resp.Header.Values("Cache-Control"))
			assert.Contains(t, string(body), "request body timeout")
			_, err := conn.Read(make([]byte, 1))
			assert.ErrorIs(t, err, io.EOF, "the server closed the connection (not the test's bound)")
		})
	}
}

// A body that arrives is passed on as it is, and is never cut, however
// long the handler then takes (here three times the body timeout; the
// wait is the behaviour under test, not a synchronisation). Neither is a
// body read to its end by a layer further out (ParseForm) before this one.
func TestBodyTimeoutNeverCutsACompleteBody(t *testing.T) {
	slow := func(read func(r *http.Request) (int, error)) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n, err := read(r)
			assert.NoError(t, err)
			<-time.After(150 * time.Millisecond)
			assert.NoError(t, r.Context().Err(), "the request was cancelled")
			fmt.Fprintf(w, "%d bytes", n)
		})
	}
	readAll := func(r *http.Request) (int, error) { b, err := io.ReadAll(r.Body); return len(b), err }
	srv := httptest.NewServer(middleware.BodyTimeout(50 * time.Millisecond)(slow(readAll)))
	t.Cleanup(srv.Close)
	resp, err := http.Post(srv.URL, "application/octet-stream", strings.NewReader(strings.Repeat("y", 5000)))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "5000 bytes", string(body))

	parsed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm() // reads the body to its end, before the layer
		middleware.BodyTimeout(50*time.Millisecond)(slow(readAll)).ServeHTTP(w, r)
	})
	srv2 := httptest.NewServer(parsed)
	t.Cleanup(srv2.Close)
	resp, err = http.Post(srv2.URL, "application/x-www-form-urlencoded", strings.NewReader("a=1&b=2"))
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, string(body))

	resp, err = http.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// A body read to its end further out (ParseForm), and a handler that
// answers from the form without touching the body, slowly: the layer
// sets no deadline under net/http's own read of the connection, which
// would cancel this request and every later one on the connection.
func TestAnAnswerToABodyReadFurtherOutIsNeverCut(t *testing.T) {
	inner := middleware.BodyTimeout(50 * time.Millisecond)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		<-time.After(150 * time.Millisecond)
		fmt.Fprintf(w, "a=%s, %v", r.Form.Get("a"), r.Context().Err())
	}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			r.ParseForm()
			inner.ServeHTTP(w, r)
			return
		}
		fmt.Fprintf(w, "next: %v", r.Context().Err())
	}))
	t.Cleanup(srv.Close)
	c := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}} // one connection for both
	t.Cleanup(c.CloseIdleConnections)
	get := func(resp *http.Response, err error) string {
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return string(b)
	}
	assert.Equal(t, "a=1, <nil>", get(c.Post(srv.URL, "application/x-www-form-urlencoded", strings.NewReader("a=1"))))
	assert.Equal(t, "next: <nil>", get(c.Get(srv.URL)), "the connection's context was cancelled")
}

// A handler that answers without reading the whole body (a refusal, a
// partial read, a closed body) gets its answer to a client that has gone
// silent mid-body: net/http reads and throws away the rest before it
// sends the header, or when it closes the body, outside this layer's
// Reads, and the layer bounds that too.
func TestAnswersWithoutTheWholeBodyArrive(t *testing.T) {
	for name, tc := range map[string]struct {
		h    http.HandlerFunc
		code int
	}{
		"unread": {func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusUnauthorized) }, http.StatusUnauthorized},
		"partly read": {func(w http.ResponseWriter, r *http.Request) {
			r.Body.Read(make([]byte, 10))
			http.Error(w, "bad", http.StatusBadRequest)
		}, http.StatusBadRequest},
		// Closing runs net/http's discard at once, and it times out: the
		// client did stall, so the 502 becomes the 408.
		"body closed": {func(w http.ResponseWriter, r *http.Request) {
			r.Body.Close()
			http.Error(w, "gone", http.StatusBadGateway)
		}, http.StatusRequestTimeout},
		"no answer at all": {func(w http.ResponseWriter, r *http.Request) {}, http.StatusOK},
		// 64 KiB goes out while the handler runs: net/http sends the
		// header, and throws the body away first, before it returns.
		"large answer, unread": {func(w http.ResponseWriter, r *http.Request) {
			w.Write(make([]byte, 64<<10))
		}, http.StatusOK},
		// A flush sends the header too, before anything was written.
		"flushed before the header": {func(w http.ResponseWriter, r *http.Request) {
			r.Body.Read(make([]byte, 10))
			http.NewResponseController(w).Flush()
			io.WriteString(w, "streaming")
		}, http.StatusOK},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(middleware.BodyTimeout(50 * time.Millisecond)(tc.h))
			t.Cleanup(srv.Close)
			conn, resp := bodytest.StalledPutConn(t, srv.URL, "/upload", "", make([]byte, 1000), 100)
			io.ReadAll(resp.Body)
			assert.Equal(t, tc.code, resp.StatusCode)
			_, err := conn.Read(make([]byte, 1))
			assert.ErrorIs(t, err, io.EOF, "the server let the silent client go")
		})
	}
}
