package backend_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
)

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

func TestHelloNamesTheBackend(t *testing.T) {
	srv := httptest.NewServer(backend.New("A"))
	defer srv.Close()

	resp, body := get(t, srv.URL+"/")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "Hello from backend A\n", body)
	assert.Equal(t, "A", resp.Header.Get(backend.HeaderName))

	resp, _ = get(t, srv.URL+"/no/such/page")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "A", resp.Header.Get(backend.HeaderName), "even a 404 says which backend answered")

	resp, err := http.Post(srv.URL+"/health", "text/plain", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "A", resp.Header.Get(backend.HeaderName), "even a 405 says which backend answered")
}

func TestEchoShowsTheRequestAsReceived(t *testing.T) {
	srv := httptest.NewServer(backend.New("B"))
	defer srv.Close()

	req, err := http.NewRequest(http.MethodPost, srv.URL+"/echo?x=1&y=2", strings.NewReader("hello"))
	require.NoError(t, err)
	req.Host = "shop.example"
	req.Header.Set("X-Test", "yes")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()

	var got backend.Echo
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
	assert.NotEmpty(t, got.RemoteAddr)
	assert.Equal(t, []string{"yes"}, got.Headers["X-Test"])
	got.RemoteAddr, got.Headers = "", nil
	want := backend.Echo{Backend: "B", Method: "POST", Host: "shop.example", Path: "/echo", RawQuery: "x=1&y=2", BodyBytes: 5}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("echo (-want +got):\n%s", diff)
	}
}

// A body over MaxEchoBody is the client's size, a 413; a body that is not
// valid HTTP framing is a bad request, a 400.
func TestEchoBodyErrors(t *testing.T) {
	srv := httptest.NewServer(backend.New("A"))
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/echo", "application/octet-stream",
		io.LimitReader(zeros{}, backend.MaxEchoBody+1))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "a body one byte too long")

	conn, err := net.DialTimeout("tcp", srv.Listener.Addr().String(), 10*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(conn, "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
	require.NoError(t, err)
	resp, err = http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "a chunk length that is not hex: %s", body)
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestHealth(t *testing.T) {
	srv := httptest.NewServer(backend.New("A"))
	defer srv.Close()
	resp, body := get(t, srv.URL+"/health")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"backend":"A","status":"ok"}`, body)
}

func TestStatusCodeIsControllable(t *testing.T) {
	srv := httptest.NewServer(backend.New("A"))
	defer srv.Close()
	resp, body := get(t, srv.URL+"/status/503")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "backend A answered 503 Service Unavailable\n", body)
}

// /status and /delay answer any method, as the chapter's route table says
// (ANY): a later chapter's retry or cache test can have a POST or a
// DELETE fail or wait, not only a GET.
func TestStatusAndDelayAnswerAnyMethod(t *testing.T) {
	srv := httptest.NewServer(backend.New("A"))
	defer srv.Close()
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		for path, want := range map[string]int{"/status/503": http.StatusServiceUnavailable, "/delay/0s": http.StatusOK} {
			req, err := http.NewRequest(method, srv.URL+path, strings.NewReader("a body"))
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, want, resp.StatusCode, "%s %s", method, path)
		}
	}
}

// Every parameter is bounded; a bad one is a 400 that says why.
func TestBadParametersAreRejected(t *testing.T) {
	srv := httptest.NewServer(backend.New("A"))
	defer srv.Close()
	for _, path := range []string{
		"/status/abc", "/status/99", "/status/199", "/status/600",
		"/delay/forever", "/delay/-1s", "/delay/31s",
		"/bytes/lots", "/bytes/-1", "/bytes/2GiB", "/bytes/1073741825",
		"/cacheable/soon", "/cacheable/-1", "/cacheable/1.5", "/cacheable/86401",
		// A number is digits alone: strconv.Atoi would take a sign.
		"/status/+503", "/cacheable/+5", "/bytes/+5", "/bytes/+1KiB", "/stream?n=%2B3",
		// Nor a leading zero: /status/0503 is not a status code (three
		// digits, RFC 9110, section 15), and each of these would be a
		// second spelling of a request, which a cache keeps apart.
		"/status/0503", "/status/0200", "/cacheable/030", "/cacheable/00",
		"/bytes/04096", "/bytes/00", "/bytes/01KiB", "/stream?n=05",
		"/stream?n=0", "/stream?n=1001", "/stream?every=1h", "/sse?n=x",
		// A query that does not parse is not the defaults: a stray %
		// or a ; between parameters drops them without a word.
		"/stream?n=%zz", "/sse?n=3;every=1s",
		"/ws",
	} {
		resp, body := get(t, srv.URL+path)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, path)
		assert.True(t, strings.HasPrefix(body, "bad request: "), "%s: body %q does not say why", path, body)
	}
}

// The bounds themselves are allowed: the chapter's 200-599, at most 30s
// (of /delay, and of a stream's pauses in all), at most 1 GiB, at most 1000
// lines and a max-age of at most a day are inclusive. The request's
// context is cancelled, so /delay/30s answers at once (with no body) if it
// is accepted, and /bytes/1GiB stops at its first write.
func TestParameterBoundsAreAccepted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, path := range []string{
		"/status/200", "/status/599", "/delay/0s", "/delay/30s",
		"/bytes/0", "/bytes/1GiB", "/stream?n=1&every=10s", "/stream?n=1000&every=0s",
		"/stream?n=4&every=10s", "/sse?n=31&every=1s", "/stream?n=1000&every=30ms",
		"/cacheable/0", "/cacheable/86400",
	} {
		rec := httptest.NewRecorder()
		backend.New("A").ServeHTTP(failingWrites{rec, path == "/bytes/1GiB"}, httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil))
		assert.NotEqual(t, http.StatusBadRequest, rec.Code, "%s: %s", path, rec.Body)
	}
}

// failingWrites fails every Write when fail is set, as a client that went
// away does.
type failingWrites struct {
	*httptest.ResponseRecorder
	fail bool
}

func (w failingWrites) Write(p []byte) (int, error) {
	if w.fail {
		return 0, io.ErrClosedPipe
	}
	return w.ResponseRecorder.Write(p)
}

func TestDelayAnswersAfterTheDelay(t *testing.T) {
	srv := httptest.NewServer(backend.New("A"))
	defer srv.Close()
	resp, body := get(t, srv.URL+"/delay/1ms")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "backend A answered after 1ms\n", body)
}

// A caller that gives up must not leave the backend waiting for the whole delay.
func TestDelayStopsWhenTheClientLeaves(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/delay/30s", nil)
	rec := httptest.NewRecorder()
	returned := make(chan struct{})
	go func() {
		backend.New("A").ServeHTTP(rec, req)
		close(returned)
	}()
	cancel()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler still waits 10s after its request was cancelled")
	}
}

func TestBytesHaveTheRequestedSizeAndPattern(t *testing.T) {
	srv := httptest.NewServer(backend.New("A"))
	defer srv.Close()
	for _, tc := range []struct {
		path string
		size int
	}{{"/bytes/0", 0}, {"/bytes/100", 100}, {"/bytes/200000", 200000}, {"/bytes/64KiB", 65536}} {
		resp, body := get(t, srv.URL+tc.path)
		assert.Equal(t, int64(tc.size), resp.ContentLength, tc.path)
		require.Len(t, body, tc.size, tc.path)
		for i := range len(body) {
			if body[i] != backend.Pattern[i%len(backend.Pattern)] {
				t.Fatalf("%s: byte %d is %q, want %q", tc.path, i, body[i], backend.Pattern[i%len(backend.Pattern)])
			}
		}
	}
}

// /cacheable is the one answer a shared cache may keep: it says for how
// long in max-age, and its body names the backend and when it answered
// (a moment between the request going out and its answer coming back).
func TestCacheableSaysHowLongToKeepIt(t *testing.T) {
	srv := httptest.NewServer(backend.New("A"))
	defer srv.Close()
	before := time.Now()
	resp, body := get(t, srv.URL+"/cacheable/30")
	after := time.Now()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "max-age=30", resp.Header.Get("Cache-Control"))
	assert.Equal(t, "A", resp.Header.Get(backend.HeaderName))

	at, ok := strings.CutPrefix(body, "backend A answered at ")
	require.True(t, ok, "body %q does not name the backend", body)
	at, ok = strings.CutSuffix(at, ", fresh for 30s\n")
	require.True(t, ok, "body %q does not end with its max-age", body)
	_, err := time.Parse(backend.TimeFormat, at)
	require.NoError(t, err, "body %q", body)
	if before.Format(time.DateOnly) == after.Format(time.DateOnly) { // times of day compare within a day
		assert.LessOrEqual(t, before.Format(backend.TimeFormat), at)
		assert.GreaterOrEqual(t, after.Format(backend.TimeFormat), at)
	}

	resp, _ = get(t, srv.URL+"/cacheable/0")
	assert.Equal(t, "max-age=0", resp.Header.Get("Cache-Control"))
}

func TestStreamSendsFlushedLines(t *testing.T) {
	srv := httptest.NewServer(backend.New("A"))
	defer srv.Close()
	resp, body := get(t, srv.URL+"/stream?n=3&every=0s")
	assert.Equal(t, []string{"chunked"}, resp.TransferEncoding)
	assert.Equal(t, "line 1 of 3\nline 2 of 3\nline 3 of 3\n", body)
}

// The first line must reach the client while the backend is still waiting
// to send the second: that is what flushing means. Without a flush not even
// the response headers leave the backend, so the whole request, not just
// the read, runs under the deadline.
func TestStreamFirstLineArrivesBeforeTheLast(t *testing.T) {
	srv := httptest.NewServer(backend.New("A"))
	defer srv.Close()
	for path, want := range map[string]string{"/stream?n=2&every=10s": "line 1 of 2\n", "/sse?n=2&every=10s": "id: 1\n"} {
		ctx, cancel := context.WithCancel(context.Background())
		first := make(chan string, 1)
		go func() {
			defer close(first)
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
			if err != nil {
				return
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			line, _ := bufio.NewReader(resp.Body).ReadString('\n')
			first <- line
		}()
		select {
		case line := <-first:
			assert.Equal(t, want, line, path)
		case <-time.After(5 * time.Second):
			t.Errorf("%s: the first line had not arrived 5s into a 10s pause: not flushed", path)
		}
		cancel()
	}
}

// A HEAD asks for the headers only, so a stream answers it at once: paced
// pieces that nobody receives would hold the connection for the whole
// stream (n=4 every 10s is 30s), and a keep-alive client's next request
// would wait behind them.
func TestStreamAnswersHeadAtOnce(t *testing.T) {
	for _, path := range []string{"/stream?n=4&every=10s", "/sse?n=4&every=10s"} {
		ctx, cancel := context.WithCancel(context.Background())
		rec := httptest.NewRecorder()
		returned := make(chan struct{})
		go func() {
			backend.New("A").ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodHead, path, nil))
			close(returned)
		}()
		select {
		case <-returned:
		case <-time.After(5 * time.Second):
			t.Errorf("HEAD %s: still pacing its pieces after 5s", path)
		}
		cancel()
		<-returned
		assert.Equal(t, http.StatusOK, rec.Code, path)
		assert.NotEmpty(t, rec.Header().Get("Content-Type"), "HEAD %s has GET's headers", path)
		assert.Empty(t, rec.Body.String(), "HEAD %s: no body", path)
	}
}

// A stream is held open for its pauses, (n-1) of them, so their sum is
// bounded as /delay is: n=1000&every=10s keeps each bound but would hold a
// request (and a proxy's connection) for 2h46m30s. The request's context is
// cancelled, so a stream that is wrongly accepted stops after its first line
// (a 200) instead of holding the test.
func TestStreamLengthIsBounded(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for path, total := range map[string]string{
		"/stream?n=1000&every=10s":     "2h46m30s",
		"/sse?n=5&every=10s":           "40s",
		"/stream?n=31&every=1000001us": "30.00003s",
	} {
		rec := httptest.NewRecorder()
		backend.New("A").ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil))
		assert.Equal(t, http.StatusBadRequest, rec.Code, path)
		assert.Contains(t, rec.Body.String(), total+" of pauses in all; want at most 30s", path)
	}
}

func TestServerSentEvents(t *testing.T) {
	srv := httptest.NewServer(backend.New("A"))
	defer srv.Close()
	resp, body := get(t, srv.URL+"/sse?n=2&every=0s")
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.Equal(t, "id: 1\ndata: event 1 of 2\n\nid: 2\ndata: event 2 of 2\n\n", body)
}

func TestWebSocketEcho(t *testing.T) {
	srv := httptest.NewServer(backend.New("A"))
	defer srv.Close()
	ws, err := backend.DialWebSocket(context.Background(), srv.URL+"/ws")
	require.NoError(t, err)
	defer ws.Close()
	assert.Equal(t, "A", ws.Response.Header.Get(backend.HeaderName))
	for _, msg := range []string{"hello", strings.Repeat("x", 300), strings.Repeat("y", 70000)[:60000]} {
		require.NoError(t, ws.Send(msg))
		got, err := ws.Receive()
		require.NoError(t, err)
		assert.Equal(t, msg, got)
	}
}

// A WebSocket client that says nothing for longer than the server's
// IdleTimeout is closed, as an idle keep-alive connection would be: a
// hijacked connection is out of the server's reach, and would otherwise
// hold the handler's goroutine for ever.
func TestWebSocketIdleClientIsClosed(t *testing.T) {
	srv := httptest.NewUnstartedServer(backend.New("A"))
	srv.Config.IdleTimeout = time.Millisecond
	srv.Start()
	defer srv.Close()
	ws, err := backend.DialWebSocket(context.Background(), srv.URL+"/ws")
	require.NoError(t, err)
	defer ws.Close()
	waitClosed(t, ws, "the server's 1ms IdleTimeout")
}

// With no IdleTimeout, the echo follows net/http's rule for idle
// keep-alive connections and uses the server's ReadTimeout. The echo is
// shown a server with a ReadTimeout of 1ms (the one that serves it has
// none, so that the handshake itself is never cut short on a slow
// machine).
func TestWebSocketIdleClientIsClosedAfterReadTimeout(t *testing.T) {
	h := backend.New("A")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		shown := &http.Server{ReadTimeout: time.Millisecond}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), http.ServerContextKey, shown)))
	}))
	defer srv.Close()
	ws, err := backend.DialWebSocket(context.Background(), srv.URL+"/ws")
	require.NoError(t, err)
	defer ws.Close()
	waitClosed(t, ws, "a 1ms ReadTimeout and no IdleTimeout")
}

// waitClosed waits for the server to close ws, which sends nothing, and
// fails the test if it is still open 10s later (a bound on a test that
// would otherwise hang, not a timing).
func waitClosed(t *testing.T, ws *backend.WebSocket, after string) {
	t.Helper()
	closed := make(chan error, 1)
	go func() {
		for {
			if _, err := ws.Receive(); err != nil {
				closed <- err
				return
			}
		}
	}()
	select {
	case err := <-closed:
		assert.Error(t, err, "the server should close the idle connection")
	case <-time.After(10 * time.Second):
		ws.Close()
		<-closed
		t.Errorf("an idle WebSocket was still open 10s after %s", after)
	}
}
