package direct

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/deadaddr"
)

// answerThen is a backend whose first connection answers one request
// with its path and then does what after says; later connections answer
// every request with its path.
func answerThen(after func(c net.Conn)) func(net.Conn, *bufio.Reader) {
	var first atomic.Bool
	return func(c net.Conn, r *bufio.Reader) {
		isFirst := first.CompareAndSwap(false, true)
		for {
			req, err := http.ReadRequest(r)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(req.URL.Path), req.URL.Path)
			if isFirst {
				after(c)
				return
			}
		}
	}
}

// Bytes that arrive on an idle connection are never taken as the next
// request's answer, GET included: a 408 sent before closing (as some
// servers do), or a whole stray response on a connection left open.
func TestBytesOnAnIdleConnectionAreNotTheNextAnswer(t *testing.T) {
	for name, send := range map[string]func(net.Conn){
		"408 then close": func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
		},
		"a stray response": func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n/STRAY")
			io.Copy(io.Discard, c) // and keep the connection open
		},
	} {
		t.Run(name, func(t *testing.T) {
			idle := make(chan struct{})
			url, accepted := rawServer(t, answerThen(func(c net.Conn) {
				<-idle // the client has put the connection back: it is idle
				send(c)
			}))
			tr := &Transport{Fallback: &fallback{}}
			defer tr.CloseIdleConnections()
			_, body := get(t, tr, url+"/a")
			require.Equal(t, "/a", body)
			require.Len(t, tr.idleConns(), 1)
			close(idle)
			waitForEOF(t, tr) // the bytes have arrived on the idle connection
			for _, path := range []string{"/b", "/c"} {
				// Bounded: a transport that took the stray answer for /b
				// would wait for ever for /c's.
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, "GET", url+path, nil)
				code, body := do(t, tr, req)
				assert.Equal(t, 200, code)
				assert.Equal(t, path, body)
			}
			assert.EqualValues(t, 2, accepted.Load())
		})
	}
}

// opaque hides the socket of the connection it wraps, as a DialContext
// that counts bytes or logs might: it is no syscall.Conn.
type opaque struct{ net.Conn }

// A connection whose socket cannot be peeked at is not kept: a stray
// response on it while idle would otherwise be read as the next
// request's answer.
func TestAConnectionThatCannotBePeekedAtIsNotKept(t *testing.T) {
	idle := make(chan struct{})
	url, _ := rawServer(t, answerThen(func(c net.Conn) {
		<-idle
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n/STRAY")
		io.Copy(io.Discard, c)
	}))
	tr := &Transport{
		Fallback: &fallback{},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			return opaque{c}, err
		},
	}
	defer tr.CloseIdleConnections()
	_, body := get(t, tr, url+"/a")
	require.Equal(t, "/a", body)
	kept := len(tr.idleConns())
	close(idle)
	if kept > 0 {
		// Wait until the stray bytes are there, through the wrapper.
		c := tr.idleConns()[0].(opaque).Conn
		waitReadable(t, c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/b", nil)
	_, body = do(t, tr, req)
	assert.Equal(t, "/b", body)
	assert.Zero(t, kept, "idle connections kept")
}

// The window the peek cannot close: the backend closes the connection
// after the peek, having read the request but not answered. A GET, and a
// request with an Idempotency-Key whose body must be sent again whole,
// are retried on a fresh connection; so is a GET without a body, whose
// Body is nil or http.NoBody (as on a server's incoming requests).
func TestARepeatableRequestIsRetriedWhenTheBackendDropsIt(t *testing.T) {
	for _, method := range []string{"GET", "POST", "GET nil", "GET NoBody"} {
		t.Run(method, func(t *testing.T) {
			method, bodyless, _ := strings.Cut(method, " ")
			var seen []string
			var mu sync.Mutex
			url, accepted := rawServer(t, func() func(net.Conn, *bufio.Reader) {
				var conns atomic.Int32
				return func(c net.Conn, r *bufio.Reader) {
					n := conns.Add(1)
					for i := 0; ; i++ {
						req, err := http.ReadRequest(r)
						if err != nil {
							return
						}
						b, _ := io.ReadAll(req.Body)
						mu.Lock()
						seen = append(seen, req.URL.Path+" "+string(b))
						mu.Unlock()
						if n == 1 && i == 1 {
							return // the second request on the first connection: dropped
						}
						fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(b), b)
					}
				}
			}())
			tr := &Transport{Fallback: &fallback{}}
			defer tr.CloseIdleConnections()
			send := func(path string) (int, string) {
				req, err := http.NewRequest(method, url+path, strings.NewReader("body of "+path))
				require.NoError(t, err)
				if bodyless != "" {
					req = mustRequest(t, method, url+path)
					req.Body = map[string]io.ReadCloser{"nil": nil, "NoBody": http.NoBody}[bodyless]
				}
				req.Header.Set("Idempotency-Key", path)
				return do(t, tr, req)
			}
			send("/1")
			code, body := send("/2")
			assert.Equal(t, 200, code)
			assert.EqualValues(t, 2, accepted.Load())
			if bodyless != "" {
				assert.Empty(t, body)
				assert.Equal(t, []string{"/1 ", "/2 ", "/2 "}, seen)
				return
			}
			assert.Equal(t, "body of /2", body, "the body, sent again whole")
			assert.Equal(t, []string{"/1 body of /1", "/2 body of /2", "/2 body of /2"}, seen)
		})
	}
}

// hookConn lets a test act at a precise point of an exchange.
type hookConn struct {
	net.Conn
	afterWrite    func()
	deadlineSet   chan struct{} // told when SetDeadline (the cancellation) is called
	mu            sync.Mutex
	readDeadlines []time.Time
}

func (c *hookConn) SyscallConn() (syscall.RawConn, error) { return socketOf(c.Conn) }

func (c *hookConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if c.afterWrite != nil {
		c.afterWrite()
	}
	return n, err
}

func (c *hookConn) SetDeadline(t time.Time) error {
	err := c.Conn.SetDeadline(t)
	if c.deadlineSet != nil {
		select {
		case c.deadlineSet <- struct{}{}:
		default:
		}
	}
	return err
}

func (c *hookConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.readDeadlines = append(c.readDeadlines, t)
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

// dialThrough dials for real, keeps the connection in *inner, and gives
// the transport wrapper instead, which reads and writes through *inner.
func dialThrough(inner *net.Conn, wrapper net.Conn) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		*inner = nc
		return wrapper, err
	}
}

// A cancellation whose past deadline lands after the request is written
// and before the header deadline is set is not lost to that deadline.
func TestACancellationJustBeforeTheHeaderDeadlineIsNotLost(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	ctx, cancel := context.WithCancel(context.Background())
	hc := &hookConn{deadlineSet: make(chan struct{}, 1)}
	hc.afterWrite = func() { cancel(); <-hc.deadlineSet } // the AfterFunc has run
	tr := &Transport{Fallback: &fallback{}, ResponseHeaderTimeout: time.Hour, DialContext: dialThrough(&hc.Conn, hc)}
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	errc := make(chan error, 1)
	go func() {
		_, err := tr.RoundTrip(req)
		errc <- err
	}()
	assert.ErrorIs(t, within(t, errc), context.Canceled)
}

// The header deadline is cleared once the header is in: a connection
// goes back to the pool with no deadline that would fail its next use.
func TestTheHeaderDeadlineIsCleared(t *testing.T) {
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	hc := &hookConn{}
	tr := &Transport{Fallback: &fallback{}, ResponseHeaderTimeout: time.Minute, DialContext: dialThrough(&hc.Conn, hc)}
	defer tr.CloseIdleConnections()
	get(t, tr, srv.URL)
	hc.mu.Lock()
	defer hc.mu.Unlock()
	require.Len(t, hc.readDeadlines, 2)
	assert.False(t, hc.readDeadlines[0].IsZero(), "set for the header")
	assert.True(t, hc.readDeadlines[1].IsZero(), "then cleared")
}

// With a listener for 1xx responses, as httputil.ReverseProxy always has,
// any number of them is passed on; without one, more than five is an
// error (see max1xx: Go 1.26's http.Transport bounds them by size only).
func TestManyInformationalResponses(t *testing.T) {
	url, _ := rawServer(t, func(c net.Conn, r *bufio.Reader) {
		for {
			if _, err := http.ReadRequest(r); err != nil {
				return
			}
			io.WriteString(c, strings.Repeat("HTTP/1.1 102 Processing\r\n\r\n", 8)+"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	tr := &Transport{Fallback: &fallback{}}
	defer tr.CloseIdleConnections()
	var told atomic.Int32
	trace := &httptrace.ClientTrace{Got1xxResponse: func(int, textproto.MIMEHeader) error { told.Add(1); return nil }}
	req := mustRequest(t, "GET", url)
	code, body := do(t, tr, req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	assert.Equal(t, 200, code)
	assert.Equal(t, "ok", body)
	assert.EqualValues(t, 8, told.Load())

	_, err := tr.RoundTrip(mustRequest(t, "GET", url))
	assert.ErrorContains(t, err, "too many 1xx")
}

// Five informational responses before the final one are not "more than
// five": the request succeeds; a sixth is an error. (The counts are
// written out, not max1xx: the test is of the bound the chapter states.)
func TestFiveInformationalResponsesAreAccepted(t *testing.T) {
	url, _ := rawServer(t, func(c net.Conn, r *bufio.Reader) {
		for {
			req, err := http.ReadRequest(r)
			if err != nil {
				return
			}
			n := map[string]int{"/five": 5, "/six": 6}[req.URL.Path]
			io.WriteString(c, strings.Repeat("HTTP/1.1 102 Processing\r\n\r\n", n)+"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	tr := &Transport{Fallback: &fallback{}}
	defer tr.CloseIdleConnections()
	code, body := get(t, tr, url+"/five")
	assert.Equal(t, 200, code)
	assert.Equal(t, "ok", body)
	_, err := tr.RoundTrip(mustRequest(t, "GET", url+"/six"))
	assert.ErrorContains(t, err, "too many 1xx")
}

func TestAnEndlessHeaderIsCutOff(t *testing.T) {
	url, _ := rawServer(t, func(c net.Conn, r *bufio.Reader) {
		if _, err := http.ReadRequest(r); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Long: ")
		chunk := []byte(strings.Repeat("x", 64<<10))
		for range (10<<20)/len(chunk) + 2 { // 10 MiB, written out: the bound the chapter states
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	})
	_, err := (&Transport{Fallback: &fallback{}}).RoundTrip(mustRequest(t, "GET", url))
	assert.ErrorIs(t, err, errHeaderTooLarge)
}

// The 10 MiB bound is the header's only: a header just under it is read,
// and so is a body past it, on the same connection.
func TestAHeaderUnderTenMiBAndALargerBodyAreRead(t *testing.T) {
	const size = 10 << 20
	url, accepted := rawServer(t, func(c net.Conn, r *bufio.Reader) {
		for {
			req, err := http.ReadRequest(r)
			if err != nil {
				return
			}
			if req.URL.Path == "/header" {
				long := size - 100 // the rest of the header fits in 100 bytes
				io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Long: "+strings.Repeat("x", long)+"\r\nContent-Length: 2\r\n\r\nok")
				continue
			}
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", size+1)
			io.WriteString(c, strings.Repeat("y", size+1))
		}
	})
	tr := &Transport{Fallback: &fallback{}}
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(mustRequest(t, "GET", url+"/header"))
	require.NoError(t, err)
	assert.Len(t, resp.Header.Get("X-Long"), size-100)
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, "ok", string(b))
	code, body := get(t, tr, url+"/body")
	assert.Equal(t, 200, code)
	assert.Len(t, body, size+1)
	assert.EqualValues(t, 1, accepted.Load(), "one connection for both")
}

// The bound is exact: a header one byte past 10 MiB (a 1xx before it
// included) is refused, though the read that brings its last bytes could
// bring that one too. (Cut inside its last CR LF, it is refused as a
// malformed header: bufio.Reader.ReadLine hands over the lone CR as a
// line and keeps errHeaderTooLarge for the next read.)
func TestAHeaderOneBytePastTenMiBIsRefused(t *testing.T) {
	url, _ := rawServer(t, func(c net.Conn, r *bufio.Reader) {
		if _, err := http.ReadRequest(r); err != nil {
			return
		}
		head := "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Long: "
		end := "\r\n\r\n"
		io.WriteString(c, head+strings.Repeat("x", 10<<20+1-len(head)-len(end))+end)
		io.Copy(io.Discard, c)
	})
	_, err := (&Transport{Fallback: &fallback{}}).RoundTrip(mustRequest(t, "GET", url))
	assert.Error(t, err)
}

// A connection in use when CloseIdleConnections is called is closed when
// its response is done with, not kept: what a pool replaced by a reload
// needs. The next request uses the transport again as usual.
func TestCloseIdleConnectionsAlsoEndsConnectionsInUse(t *testing.T) {
	srv, conns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	tr := &Transport{Fallback: &fallback{}}
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL))
	require.NoError(t, err)
	tr.CloseIdleConnections()
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	assert.Empty(t, tr.idleConns(), "closed when its body was done")
	get(t, tr, srv.URL)
	assert.Len(t, tr.idleConns(), 1, "a new request: connections are kept again")
	assert.EqualValues(t, 2, conns.Load())
}

func TestMaxIdlePerHost(t *testing.T) {
	for name, c := range map[string]struct{ max, kept int }{
		"2":                   {2, 2},
		"0 means the default": {0, 256},
	} {
		t.Run(name, func(t *testing.T) {
			srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
			tr := &Transport{Fallback: &fallback{}, MaxIdlePerHost: c.max}
			defer tr.CloseIdleConnections()
			var open []*http.Response
			for range c.kept + 1 { // all at once: one connection more than are kept
				resp, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL))
				require.NoError(t, err)
				open = append(open, resp)
			}
			for _, resp := range open {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			assert.Equal(t, c.kept, len(tr.idleConns()), "idle connections kept")
		})
	}
}

// The idle pool is last in, first out: a request takes the connection
// given back last, the least likely to have been closed by the backend's
// own idle timeout, and the oldest stays idle (it goes first when the pool
// is full, or at IdleTimeout).
func TestTheNewestIdleConnectionIsTakenFirst(t *testing.T) {
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.RemoteAddr) }))
	now := time.Unix(1000, 0)
	tr := &Transport{Fallback: &fallback{}, Now: func() time.Time { return now }}
	defer tr.CloseIdleConnections()
	var open []*http.Response
	for range 2 { // at once: two connections
		resp, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL))
		require.NoError(t, err)
		open = append(open, resp)
	}
	given := map[time.Time]string{} // when each was given back: its address
	for _, resp := range open {     // given back one second apart
		now = now.Add(time.Second)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	tr.mu.Lock()
	for _, list := range tr.idle {
		for _, c := range list {
			given[c.since] = c.nc.LocalAddr().String()
		}
	}
	tr.mu.Unlock()
	require.Len(t, given, 2, "two connections idle, given back at different times")
	_, got := get(t, tr, srv.URL)
	assert.Equal(t, given[now], got, "the request went out on the connection given back last (%s), not the older one (%s)", given[now], given[now.Add(-time.Second)])
}

// A RoundTripper closes the request's body even when it fails before
// sending it.
func TestTheBodyIsClosedWhenTheDialFails(t *testing.T) {
	body := &closeRecorder{Reader: strings.NewReader("x")}
	req, _ := http.NewRequest("POST", deadaddr.URL(t), body)
	req.ContentLength = 1
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("x")), nil }
	_, err := (&Transport{Fallback: &fallback{}}).RoundTrip(req)
	require.Error(t, err)
	assert.True(t, body.closed.Load())
}

type closeRecorder struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeRecorder) Close() error { c.closed.Store(true); return nil }

// readHookConn cancels a request from inside a read of its connection.
type readHookConn struct {
	hookConn
	onRead func(n int)
}

func (c *readHookConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.onRead != nil {
		c.onRead(n)
	}
	return n, err
}

// A request cancelled while its response is being read (here: during the
// one read that brings the whole response) leaves its connection with a
// deadline in the past: it is closed, never pooled, even though the body
// was read to its end.
func TestAConnectionTouchedByACancellationIsNotKept(t *testing.T) {
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	ctx, cancel := context.WithCancel(context.Background())
	rc := &readHookConn{hookConn: hookConn{deadlineSet: make(chan struct{}, 1)}}
	rc.onRead = func(n int) {
		if n > 0 {
			cancel()
			<-rc.deadlineSet // the cancellation has set its deadline
			rc.onRead = nil
		}
	}
	tr := &Transport{Fallback: &fallback{}, DialContext: dialThrough(&rc.Conn, rc)}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err, "the whole response came in that one read")
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "ok", string(b))
	resp.Body.Close()
	assert.Empty(t, tr.idleConns())
}

// A cancellation that lands while the header deadline is being cleared is
// not lost either: the exchange fails at once rather than leave a body
// read that nothing can interrupt.
func TestACancellationWhileTheHeaderDeadlineIsClearedIsNotLost(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		<-release // and the body never comes
	}))
	ctx, cancel := context.WithCancel(context.Background())
	hc := &clearHookConn{hookConn: hookConn{deadlineSet: make(chan struct{}, 1)}}
	hc.beforeClear = func() { cancel(); <-hc.deadlineSet }
	tr := &Transport{Fallback: &fallback{}, ResponseHeaderTimeout: time.Hour, DialContext: dialThrough(&hc.Conn, hc)}
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	errc := make(chan error, 1)
	go func() {
		resp, err := tr.RoundTrip(req)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		errc <- err
	}()
	assert.ErrorIs(t, within(t, errc), context.Canceled)
}

// clearHookConn runs beforeClear when the read deadline is cleared.
type clearHookConn struct {
	hookConn
	beforeClear func()
}

func (c *clearHookConn) SetReadDeadline(t time.Time) error {
	if t.IsZero() && c.beforeClear != nil {
		c.beforeClear()
	}
	return c.Conn.SetReadDeadline(t)
}

// Only a request that got nothing back is sent again on a fresh
// connection: a backend that began to answer has seen the request, and
// the failure is the caller's to handle (the gateway's retry rules).
func TestARequestThatGotPartOfAnAnswerIsNotRetriedHere(t *testing.T) {
	url, accepted := rawServer(t, func(c net.Conn, r *bufio.Reader) {
		for i := 0; ; i++ {
			if _, err := http.ReadRequest(r); err != nil {
				return
			}
			if i == 1 {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Le") // and hang up
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	tr := &Transport{Fallback: &fallback{}}
	defer tr.CloseIdleConnections()
	get(t, tr, url)
	_, err := tr.RoundTrip(mustRequest(t, "GET", url))
	assert.Error(t, err)
	assert.EqualValues(t, 1, accepted.Load(), "no second connection")
}

// A request http.Transport refuses to write is not written here either:
// Request.Write puts the method on the wire unchecked (a CR LF in it
// starts a second request, of the caller's making, on the connection) and
// quietly rewrites or drops bad header fields. Such a request goes to
// Fallback, whose error the caller gets, and the backend receives nothing.
func TestARequestHTTPTransportRefusesIsNotWritten(t *testing.T) {
	seen := make(chan string, 10)
	url, _ := rawServer(t, func(c net.Conn, r *bufio.Reader) {
		for {
			req, err := http.ReadRequest(r)
			if err != nil {
				return
			}
			seen <- req.Method + " " + req.URL.Path
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	for name, c := range map[string]struct {
		change func(*http.Request)
		err    string
	}{
		"a CR LF in the method": {func(r *http.Request) {
			r.Method = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\nGET"
		}, "invalid method"},
		"a space in the method":     {func(r *http.Request) { r.Method = "GET /x" }, "invalid method"},
		"a CR LF in a header value": {func(r *http.Request) { r.Header.Set("X-A", "a\r\nX-Injected: 1") }, `invalid header field value for "X-A"`},
		"a NUL in a header value":   {func(r *http.Request) { r.Header.Set("X-A", "a\x00b") }, `invalid header field value for "X-A"`},
		"a CR LF in a header name":  {func(r *http.Request) { r.Header["X-A\r\nX-B"] = []string{"1"} }, "invalid header field name"},
		"a colon in a header name":  {func(r *http.Request) { r.Header["X-A:"] = []string{"1"} }, "invalid header field name"},
		"an empty header name":      {func(r *http.Request) { r.Header[""] = []string{"1"} }, "invalid header field name"},
		// Request.Write puts trailer names on its "Trailer:" line as they
		// are, when it sends a chunked body.
		"a CR LF in a trailer name": {func(r *http.Request) {
			chunked(r)
			r.Trailer = http.Header{"X-T\r\nX-Injected: 1": nil}
		}, "invalid trailer field name"},
		"a CR LF in a trailer value": {func(r *http.Request) {
			chunked(r)
			r.Trailer = http.Header{"X-T": {"a\r\nX-Injected: 1"}}
		}, `invalid trailer field value for "X-T"`},
	} {
		t.Run(name, func(t *testing.T) {
			fb := &fallback{}
			tr := &Transport{Fallback: fb}
			defer tr.CloseIdleConnections()
			req := mustRequest(t, "GET", url+"/a")
			c.change(req)
			_, err := tr.RoundTrip(req)
			assert.ErrorContains(t, err, c.err)
			assert.EqualValues(t, 1, fb.asked.Load(), "left to Fallback")
		})
	}
	// A well-formed request, whose method and header name hold the ends
	// of the letter and digit ranges: the backend's first and only
	// request, sent direct.
	fb := &fallback{}
	tr := &Transport{Fallback: fb}
	defer tr.CloseIdleConnections()
	req := mustRequest(t, "PROPFIND", url+"/ok")
	req.Header.Set("X-Tab", "a\tb, é")
	req.Header["Az-Za-09-90"] = []string{"1"}
	code, _ := do(t, tr, req)
	assert.Equal(t, 200, code)
	assert.Zero(t, fb.asked.Load(), "left to Fallback")
	assert.Equal(t, "PROPFIND /ok", <-seen)
	assert.Empty(t, seen, "nothing else reached the backend")
}

// chunked makes r a POST with a small body in memory, sent chunked: a
// request the direct path takes, whose trailers Request.Write writes.
func chunked(r *http.Request) {
	r.Method = "POST"
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("hello")), nil }
	r.Body, _ = r.GetBody()
	r.ContentLength = int64(len("hello"))
	r.TransferEncoding = []string{"chunked"}
}

// A request whose URL names no host, or that has no URL, is refused, as
// http.Transport refuses it: it is not sent to port 80 of the gateway's
// own machine, which is where dialing ":80" goes, and it does not panic.
func TestARequestWithoutAHostIsNotSent(t *testing.T) {
	for name, c := range map[string]struct {
		url *url.URL
		err string
	}{
		"no host": {&url.URL{Scheme: "http", Path: "/"}, "no Host in request URL"},
		"no URL":  {nil, "nil Request.URL"},
	} {
		t.Run(name, func(t *testing.T) {
			var dialed atomic.Int32
			fb := &fallback{}
			tr := &Transport{
				Fallback: fb,
				DialContext: func(context.Context, string, string) (net.Conn, error) {
					dialed.Add(1)
					return nil, errors.New("dialed")
				},
			}
			req := &http.Request{Method: "GET", URL: c.url, Header: http.Header{}}
			_, err := tr.RoundTrip(req)
			assert.ErrorContains(t, err, c.err)
			assert.EqualValues(t, 1, fb.asked.Load(), "left to Fallback")
			assert.Zero(t, dialed.Load(), "dialed")
		})
	}
}

// A request cancelled while its body is read ends that read with the
// cancellation, as with http.Transport: not with the "i/o timeout" of the
// past deadline that unblocked it, which a caller would take for a slow
// backend (a net.Error whose Timeout is true).
func TestACancellationWhileTheBodyIsReadIsReportedAsSuch(t *testing.T) {
	url, _ := rawServer(t, func(c net.Conn, r *bufio.Reader) {
		if _, err := http.ReadRequest(r); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc") // and the rest never comes
		io.Copy(io.Discard, c)
	})
	tr := &Transport{Fallback: &fallback{}}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, err = io.ReadFull(resp.Body, make([]byte, 3))
	require.NoError(t, err)
	cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := resp.Body.Read(make([]byte, 1))
		errc <- err
	}()
	err = within(t, errc)
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, isTimeout(err), "not a timeout: %v", err)
}

// A 2xx answer to CONNECT turns the connection into a tunnel, whatever
// Content-Length it carries (which RFC 9110, section 9.3.6, tells a client
// to ignore): it is never given back to the pool, where the next request
// would go down the tunnel to whatever is at its far end. (http.Transport
// pools it when the answer says Content-Length: 0.)
func TestAConnectionThatAnsweredConnectIsNotKept(t *testing.T) {
	url, accepted := rawServer(t, func(c net.Conn, r *bufio.Reader) {
		req, err := http.ReadRequest(r)
		if err != nil {
			return
		}
		if req.Method != http.MethodConnect {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nbackend")
			return
		}
		io.WriteString(c, "HTTP/1.1 200 Connection Established\r\nContent-Length: 0\r\n\r\n")
		if _, err := r.ReadByte(); err == nil { // a tunnel now: anything sent down it
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\ntunnel")
		}
	})
	tr := &Transport{Fallback: &fallback{}}
	defer tr.CloseIdleConnections()
	code, _ := do(t, tr, mustRequest(t, http.MethodConnect, url))
	require.Equal(t, 200, code)
	assert.Empty(t, tr.idleConns())
	_, body := get(t, tr, url+"/next")
	assert.Equal(t, "backend", body)
	assert.EqualValues(t, 2, accepted.Load())
}
