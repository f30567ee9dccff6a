package middleware_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/06-middleware/onion"
)

// switching answers with a hijack and a 101 written on the connection, as
// httputil.ReverseProxy does for a WebSocket, then waits for its context
// to end before it returns.
var switching = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	rw.Flush()
	<-r.Context().Done()
})

// serveOnce starts h on a test server whose own log goes to errs, sends
// it one upgrade request, checks the 101, and returns it once h has
// returned.
func serveOnce(t *testing.T, h http.Handler, errs *logBuffer) *http.Response {
	t.Helper()
	returned := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(returned)
		h.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = log.New(errs, "", 0)
	srv.Start()
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second))) // a bound on a test that would hang, not a timing
	_, err = conn.Write([]byte("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"))
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler did not return")
	}
	return resp
}

// TestAHijackedConnectionIsCountedAs101: the access log and the metrics
// see no WriteHeader when a handler takes the connection over; they count
// it as the 101 it answers, not as the 200 of a handler that wrote nothing.
// A 101 written with WriteHeader counts too: net/http sends it as the
// final header, as it sends a 200.
func TestAHijackedConnectionIsCountedAs101(t *testing.T) {
	for name, handler := range map[string]http.HandlerFunc{
		"hijacked": func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithCancel(r.Context())
			cancel() // return at once after the 101
			switching.ServeHTTP(w, r.WithContext(ctx))
		},
		"written with WriteHeader": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusSwitchingProtocols)
		},
	} {
		t.Run(name, func(t *testing.T) {
			var logs logBuffer
			reg := prometheus.NewRegistry()
			m := middleware.NewMetrics(reg)
			serveOnce(t, onion.Chain{middleware.AccessLog(logs.Logger()), m.Wrap}.Then(handler), new(logBuffer))

			entries := logs.Entries(t)
			require.Len(t, entries, 1)
			assert.Equal(t, 101.0, entries[0]["status"])
			assert.Nil(t, entries[0]["aborted"], "a switch of protocols is no cut")
			want := `
# HELP gateway_requests_total Requests handled by the gateway.
# TYPE gateway_requests_total counter
gateway_requests_total{class="1xx",route="unmatched",upstream=""} 1
`
			assert.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), "gateway_requests_total"))
		})
	}
}

// TestAFailedHijackIsNotCountedAs101: a hijack the writer cannot do (an
// HTTP/2 stream, a recorder) switches nothing; the handler's answer is
// what is logged.
func TestAFailedHijackIsNotCountedAs101(t *testing.T) {
	var logs logBuffer
	h := middleware.AccessLog(logs.Logger())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, err := http.NewResponseController(w).Hijack(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}))
	assert.Equal(t, http.StatusInternalServerError, get(h, "/").Code)
	entries := logs.Entries(t)
	require.Len(t, entries, 1)
	assert.Equal(t, 500.0, entries[0]["status"])
}

// TestTimeoutLeavesAHijackedConnectionAlone: a deadline passing on a
// connection the handler took over cuts it (the handler's context ends),
// but the layer writes no 504 on it: that would go nowhere, and net/http
// logs "response.WriteHeader on hijacked connection". The deadline
// passes just after the hijack (a manual one: with a real 20 ms one, a
// slow machine hijacked after it, and got the refusal instead).
func TestTimeoutLeavesAHijackedConnectionAlone(t *testing.T) {
	var errs logBuffer
	d := newManualDeadline()
	h := withManualDeadline(d, middleware.Timeout(time.Hour)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switching.ServeHTTP(hijackHook{w, d.pass}, r)
	})))
	serveOnce(t, h, &errs)
	assert.Empty(t, errs.String(), "the server's own log")
}

// hijackHook is a ResponseWriter that calls then once its Hijack has
// succeeded.
type hijackHook struct {
	http.ResponseWriter
	then func()
}

func (w hijackHook) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.then()
	}
	return conn, rw, err
}

// TestTimeoutRefusesAHijackAfterTheDeadline: once the deadline has
// passed, the answer is the 504, as for a Write or a Flush then. A
// handler that asks for the connection only now (it ignored its context,
// or its upstream answered 101 late) must get http.ErrHandlerTimeout, not
// a connection on which the client gets no answer, or the 504's header
// without its body followed by the handler's own bytes.
func TestTimeoutRefusesAHijackAfterTheDeadline(t *testing.T) {
	for _, name := range []string{"nothing written", "after the 504"} {
		t.Run(name, func(t *testing.T) {
			hijackErr := make(chan error, 1)
			h := middleware.Timeout(20 * time.Millisecond)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				<-r.Context().Done()
				if name == "after the 504" {
					w.WriteHeader(http.StatusBadGateway) // becomes the 504
				}
				conn, rw, err := http.NewResponseController(w).Hijack()
				hijackErr <- err
				if err == nil {
					defer conn.Close()
					rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
					rw.Flush()
				}
			}))
			srv := httptest.NewServer(h)
			defer srv.Close()
			resp, err := srv.Client().Get(srv.URL)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.ErrorIs(t, <-hijackErr, http.ErrHandlerTimeout)
			assert.Equal(t, http.StatusGatewayTimeout, resp.StatusCode)
			assert.Equal(t, "gateway timeout: the upstream did not answer in time\n", string(body))
		})
	}
}

// TestEveryLayerPassesFlusherAndHijackerOn: a handler that asks its
// writer for an http.Flusher or an http.Hijacker, as many a server-sent
// events or WebSocket library does instead of using
// http.NewResponseController, gets them through every layer of the
// default stack, each alone and all together (a chunked body, for
// body-limit's writer). The access log's and the breaker's status writer
// had FlushError for http.ResponseController, but no Flush: behind the
// default stack, such a handler could not stream.
func TestEveryLayerPassesFlusherAndHijackerOn(t *testing.T) {
	probe := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, flusher := w.(http.Flusher)
		_, hijacker := w.(http.Hijacker)
		fmt.Fprintf(w, "flusher=%t hijacker=%t", flusher, hijacker)
	})
	stack := newGateway(t, 100).stack
	wrapped := map[string]http.Handler{"all": stack.Chain().Then(probe)}
	for _, l := range stack {
		wrapped[l.Name] = l.Middleware(probe)
	}
	for name, h := range wrapped {
		req := httptest.NewRequest("POST", "/api/x", io.NopCloser(strings.NewReader("a chunked body")))
		req.ContentLength = -1
		req.Header.Set("X-Api-Key", "alice-key")
		req.Header.Set("Origin", "https://app.example") // for cors's writer
		rec := httptest.NewRecorder()
		h.ServeHTTP(hijackableRecorder{rec}, req)
		assert.Equal(t, "flusher=true hijacker=true", rec.Body.String(), name)
	}
}

// hijackableRecorder is a recorder that is an http.Hijacker too, as the
// server's writer is.
type hijackableRecorder struct{ *httptest.ResponseRecorder }

func (hijackableRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return nil, nil, http.ErrNotSupported
}
