package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/06-middleware/config"
)

// The send timeout's tests need real time to pass: the clock is the
// connection's write deadline, which the kernel's clock drives. So
// send_timeout is short, and a steady client reads every tick, 20 times
// as often.
const (
	sendTimeoutForTests = 200 * time.Millisecond
	tick                = 10 * time.Millisecond
	answerSize          = 1 << 20 // 64 ticks of 16 KiB: about three send timeouts
)

// smallBuffers is a listener whose connections have a small send buffer,
// so that a response larger than a few buffers waits on its client
// (loopback's buffers grow to megabytes by themselves).
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(8 << 10)
	}
	return c, err
}

// serveSmall serves h with the hardened server of l, on a listener with
// small send buffers, and returns its address.
func serveSmall(t *testing.T, l config.Listener, h http.Handler) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config = Server(l, h, nil)
	srv.Listener = smallBuffers{srv.Listener}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// listenWith returns the listen section with send_timeout d.
func listenWith(d time.Duration) config.Listener {
	cfg, err := config.Parse("l.yaml", []byte(fmt.Sprintf(`
listen: {send_timeout: %v}
pools: {p: {targets: ["http://h:1"]}}
routes: [{pool: p}]
`, d)), DefaultRegistry())
	if err != nil {
		panic(err)
	}
	return cfg.Listen
}

// dialGet dials addr with a small receive buffer, sends a GET for path
// and returns the response once its header is in. The connection closes
// when the test ends.
func dialGet(t *testing.T, addr, path string) (net.Conn, *http.Response) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	// Small, but not below two of loopback's 64 KiB segments: with 8 KiB,
	// a steady reader's transfer stalled for longer than the timeout.
	require.NoError(t, conn.(*net.TCPConn).SetReadBuffer(128<<10))
	require.NoError(t, conn.SetDeadline(time.Now().Add(20*time.Second))) // a bound on the test, not a timing
	_, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: test\r\n\r\n", path)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	return conn, resp
}

// readSteadily reads body 16 KiB at a time, one read a tick: a slow
// client that never pauses for long. It returns the bytes read and the
// error that ended the body (nil at its end).
func readSteadily(body io.Reader) (int64, error) {
	t := time.NewTicker(tick)
	defer t.Stop()
	var n int64
	for {
		<-t.C
		m, err := io.CopyN(io.Discard, body, 16<<10)
		n += m
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// A client that reads the header of a download and then nothing: once
// send_timeout passes, the gateway lets it go and gives up on the
// upstream, whose writes fail. (The download has a length: a stream of
// unknown length the proxy flushes after every write.)
func TestAClientThatStopsReadingIsCutOff(t *testing.T) {
	gone := make(chan error, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(int64(1)<<40))
		chunk := make([]byte, 32<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				gone <- err
				return
			}
		}
	}))
	t.Cleanup(upstream.Close)
	gw, _, _ := start(t, `
listen: {send_timeout: 200ms}
pools: {p: {targets: ["`+upstream.URL+`"]}}
routes: [{pool: p}]
`)
	addr := serveSmall(t, gw.Config().Listen, gw)

	conn, resp := dialGet(t, addr, "/endless")
	defer conn.Close() // before the upstream's Close, which waits for its handler
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// The client reads nothing more.
	receive(t, gone, "the upstream's write to fail")
	_, err := io.Copy(io.Discard, resp.Body)
	assert.Error(t, err, "the download was cut short")
	assert.NotErrorIs(t, err, os.ErrDeadlineExceeded, "the gateway closes the connection; the client need not")
}

// A client that reads slowly but without a long pause gets the whole
// answer, though sending it takes several times send_timeout: whatever
// the handler's writes (many small ones, one large one, as a slice or a
// string, io.Copy).
func TestASteadyClientGetsTheWholeAnswer(t *testing.T) {
	body := strings.Repeat("x", answerSize)
	for _, tc := range []struct {
		name  string
		write func(w http.ResponseWriter)
	}{
		{"small writes", func(w http.ResponseWriter) {
			for i := 0; i < len(body); i += 32 << 10 {
				w.Write([]byte(body[i : i+32<<10]))
			}
		}},
		{"one write", func(w http.ResponseWriter) { w.Write([]byte(body)) }},
		{"one WriteString", func(w http.ResponseWriter) { io.WriteString(w, body) }},
		{"io.Copy", func(w http.ResponseWriter) { io.Copy(w, struct{ io.Reader }{strings.NewReader(body)}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := serveSmall(t, listenWith(sendTimeoutForTests), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				tc.write(w)
			}))
			_, resp := dialGet(t, addr, "/")
			n, err := readSteadily(resp.Body)
			assert.NoError(t, err)
			assert.Equal(t, int64(len(body)), n)
		})
	}
}

// The same through the gateway: a large answer proxied to a steady
// client, and a stream of server-sent events whose gaps are shorter than
// send_timeout but which lasts longer.
func TestASteadyClientOfTheGatewayGetsTheWholeAnswer(t *testing.T) {
	body := strings.Repeat("x", answerSize)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/events" {
			w.Header().Set("Content-Type", "text/event-stream")
			pace := time.NewTicker(sendTimeoutForTests / 4) // the stream's own pace
			defer pace.Stop()
			for i := range 8 {
				fmt.Fprintf(w, "data: %d\n\n", i)
				http.NewResponseController(w).Flush()
				<-pace.C
			}
			return
		}
		io.WriteString(w, body)
	}))
	t.Cleanup(upstream.Close)
	gw, _, _ := start(t, `
listen: {send_timeout: 200ms}
pools: {p: {targets: ["`+upstream.URL+`"]}}
routes: [{pool: p}]
`)
	addr := serveSmall(t, gw.Config().Listen, gw)

	_, resp := dialGet(t, addr, "/large")
	n, err := readSteadily(resp.Body)
	assert.NoError(t, err)
	assert.Equal(t, int64(len(body)), n)

	_, resp = dialGet(t, addr, "/events")
	events, err := io.ReadAll(resp.Body)
	assert.NoError(t, err)
	assert.Equal(t, 8, strings.Count(string(events), "data: "), "events received: %q", events)
}

// pause lets more than send_timeout pass: the deadline is wall-clock
// time, so a test of what happens after it passes must wait for it.
func pause() { time.Sleep(2 * sendTimeoutForTests) }

// A flush is a write: a handler that writes, waits longer than
// send_timeout (for its upstream, say), then flushes, gets its flush
// through, since the flush pushes the deadline first.
func TestAFlushAfterAPauseGoesOut(t *testing.T) {
	addr := serveSmall(t, listenWith(sendTimeoutForTests), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "data: late\n\n") // buffered by net/http
		pause()
		http.NewResponseController(w).Flush()
	}))
	_, resp := dialGet(t, addr, "/")
	got, err := io.ReadAll(resp.Body)
	assert.NoError(t, err)
	assert.Equal(t, "data: late\n\n", string(got))
}

// What net/http still holds when the handler returns (a small answer, all
// of it buffered) goes out then, though the handler's last write was
// longer than send_timeout ago.
func TestAnAnswerBufferedBeforeAPauseGoesOut(t *testing.T) {
	addr := serveSmall(t, listenWith(sendTimeoutForTests), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "done")
		pause()
	}))
	_, resp := dialGet(t, addr, "/")
	got, err := io.ReadAll(resp.Body)
	assert.NoError(t, err)
	assert.Equal(t, "done", string(got))
}

// A 1xx header goes out at once, so it is a write like any other: a
// client that reads nothing while a handler sends informational answers
// (a proxy passing on its upstream's 103 Early Hints) is let go.
func TestAClientThatReadsNoInformationalAnswerIsCutOff(t *testing.T) {
	gone := make(chan error, 1)
	addr := serveSmall(t, listenWith(sendTimeoutForTests), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</"+strings.Repeat("x", 4<<10)+">; rel=preload")
		for range 1000 { // 4 MiB of headers, far more than the buffers hold
			w.WriteHeader(http.StatusEarlyHints)
		}
		io.WriteString(w, "done")
		gone <- http.NewResponseController(w).Flush() // a small Write is only buffered
	}))
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close() // before the server's Close, which waits for its handler
	require.NoError(t, conn.(*net.TCPConn).SetReadBuffer(128<<10))
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: test\r\n\r\n")
	require.NoError(t, err)

	// The client reads nothing.
	assert.Error(t, receive(t, gone, "the handler's write to fail"))
}

// A hijacked connection is the handler's: a handler that hands it to a
// goroutine and returns leaves it with no deadline, and the goroutine's
// write after send_timeout goes out.
func TestAHijackedConnectionHasNoDeadline(t *testing.T) {
	addr := serveSmall(t, listenWith(sendTimeoutForTests), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		go func() {
			defer conn.Close()
			pause()
			io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nlate")
		}()
	}))
	_, resp := dialGet(t, addr, "/")
	got, err := io.ReadAll(resp.Body)
	assert.NoError(t, err)
	assert.Equal(t, "late", string(got))
}

// A WebSocket through the gateway stays open while it is quiet for longer
// than send_timeout.
func TestAQuietWebSocketIsNotCut(t *testing.T) {
	srvs := backends(t, 1)
	gw, _, _ := start(t, fill(`
listen: {send_timeout: 200ms}
pools: {p: {targets: ["${A}"]}}
routes: [{path: /, pool: p}]
`, srvs))
	addr := serveSmall(t, gw.Config().Listen, gw)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, err := backend.DialWebSocket(ctx, "http://"+addr+"/ws")
	require.NoError(t, err)
	defer ws.Close()
	for _, msg := range []string{"before", "after"} {
		require.NoError(t, ws.Send(msg))
		got, err := ws.Receive()
		require.NoError(t, err, "the tunnel was cut")
		assert.Contains(t, got, msg)
		pause()
	}
}

// Two requests on one keep-alive connection, further apart than
// send_timeout: the deadline of the first does not fail the second's
// answer, nor the "100 Continue" net/http writes for it before the
// handler writes anything (net/http clears the write deadline once an
// answer is sent).
func TestKeepAliveOutlivesTheSendTimeout(t *testing.T) {
	addr := serveSmall(t, listenWith(sendTimeoutForTests), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "got %q", b)
	}))
	tr := &http.Transport{ExpectContinueTimeout: 10 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for i, body := range []string{"one", "two"} {
		if i > 0 {
			pause()
		}
		var reused bool
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
		})
		req, err := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Expect", "100-continue")
		resp, err := c.Do(req)
		require.NoError(t, err)
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("got %q", body), string(got))
		assert.Equal(t, i > 0, reused, "request %d: the connection kept alive", i)
	}
}

// write_timeout, where it is set, still bounds the whole answer: no push
// of send_timeout goes past it.
func TestWriteTimeoutStillBoundsTheWholeAnswer(t *testing.T) {
	l := listenWith(time.Hour)
	l.WriteTimeout = 2 * sendTimeoutForTests
	body := strings.Repeat("x", answerSize)
	addr := serveSmall(t, l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		io.WriteString(w, body)
	}))
	_, resp := dialGet(t, addr, "/")
	n, err := readSteadily(resp.Body)
	assert.Error(t, err, "the answer was cut at write_timeout")
	assert.Less(t, n, int64(len(body)))
}

// deadlineWriter is a ResponseWriter that can set a write deadline, and
// allocates nothing itself.
type deadlineWriter struct {
	header    http.Header
	deadlines int
}

func (w *deadlineWriter) Header() http.Header               { return w.header }
func (w *deadlineWriter) Write(p []byte) (int, error)       { return len(p), nil }
func (w *deadlineWriter) WriteString(s string) (int, error) { return len(s), nil }
func (w *deadlineWriter) WriteHeader(int)                   {}
func (w *deadlineWriter) Flush()                            {}
func (w *deadlineWriter) SetWriteDeadline(time.Time) error  { w.deadlines++; return nil }
func (w *deadlineWriter) SetReadDeadline(time.Time) error   { return nil }
func (w *deadlineWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return nil, nil, errors.New("no")
}

// The send timeout costs a deadline per write and no allocation per
// request: it runs on every request of every route.
func TestSendTimeoutAllocatesNothing(t *testing.T) {
	p := make([]byte, 100<<10)
	h := sendTimeout(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(p[:100])
		io.WriteString(w, "a string") // as net/http's writer, without a copy
		http.NewResponseController(w).Flush()
		w.Write(p)
	}), time.Minute, 0)
	w := &deadlineWriter{header: http.Header{}}
	req := httptest.NewRequest("GET", "/", nil)
	h.ServeHTTP(w, req)
	assert.Equal(t, 1+1+1+4+1, w.deadlines, "a write, a string, a flush, 100 KiB in 32 KiB chunks, the handler's return")
	assert.Zero(t, testing.AllocsPerRun(1000, func() { h.ServeHTTP(w, req) }))
}

// BenchmarkSendTimeout measures a small GET on a keep-alive connection,
// with and without send_timeout: the price of its deadlines.
func BenchmarkSendTimeout(b *testing.B) {
	for _, d := range []time.Duration{0, time.Minute} {
		b.Run(fmt.Sprint("send_timeout=", d), func(b *testing.B) {
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
			l := listenWith(d)
			srv := httptest.NewUnstartedServer(h)
			srv.Config = Server(l, h, nil)
			srv.Start()
			defer srv.Close()
			c := srv.Client()
			b.ReportAllocs()
			for b.Loop() {
				resp, err := c.Get(srv.URL)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

// send_timeout, like the rest of the listen section, is read at start
// (the server has it): a reload that changes it says so, and a reload
// that does not change the section says nothing.
func TestAReloadThatChangesSendTimeoutSaysRestart(t *testing.T) {
	reloadSaysRestart(t, "listen: {send_timeout: 1m}", "1m", "2m", "reload: listen and admin addresses and limits change only on restart")
}

// reloadSaysRestart starts a gateway on a file with section (a section
// read at start only), reloads it unchanged, which must say nothing of a
// restart, then with from replaced by to in section, which must log want,
// and again, which must say it again: the comparison is with what the
// servers started with, not with the last file, whose section was never
// applied. Back to from, the reload says nothing.
func reloadSaysRestart(t *testing.T, section, from, to, want string) {
	t.Helper()
	srvs := backends(t, 1)
	text := fill(section+"\npools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p}]\n", srvs)
	src := &fakeSource{text: text}
	var log lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := New(ctx, src.read, Options{ManualChecks: true, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	require.NoError(t, err)
	defer g.Close()

	require.NoError(t, g.Reload())
	assert.NotContains(t, log.String(), "only on restart")
	src.set(strings.Replace(text, from, to, 1))
	require.NoError(t, g.Reload())
	assert.Equal(t, 1, strings.Count(log.String(), want))
	require.NoError(t, g.Reload())
	assert.Equal(t, 2, strings.Count(log.String(), want), "a second reload of the changed file: still not applied")
	src.set(text)
	require.NoError(t, g.Reload())
	assert.Equal(t, 2, strings.Count(log.String(), want), "back to what the servers started with: nothing to say")
}
