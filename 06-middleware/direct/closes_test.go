package direct

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hangUpBackend answers every request on a connection with answer's
// bytes, and tells closed when the client has closed that connection
// (its read of the next request finds the end). stray, once closed,
// makes the first connection send bytes nobody asked for after its first
// answer, while it is idle.
func hangUpBackend(t *testing.T, answer string, stray <-chan struct{}) (url string, closed <-chan struct{}) {
	t.Helper()
	ch := make(chan struct{}, 10)
	var first atomic.Bool
	url, _ = rawServer(t, func(c net.Conn, r *bufio.Reader) {
		isFirst := first.CompareAndSwap(false, true)
		for i := 0; ; i++ {
			req, err := http.ReadRequest(r)
			if err != nil {
				ch <- struct{}{} // the client hung up (or the test ended)
				return
			}
			io.Copy(io.Discard, req.Body)
			io.WriteString(c, answer)
			if isFirst && i == 0 && stray != nil {
				<-stray
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n/STRAY")
			}
		}
	})
	return url, ch
}

// hungUp waits for n connections to be closed by the client, for 10 s at
// most: a connection the transport drops without closing stays open for
// as long as the process runs, a leak the backend pays for too.
func hungUp(t *testing.T, closed <-chan struct{}, n int) {
	t.Helper()
	for i := range n {
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d connections still open after 10 s", i, n)
		}
	}
}

const okAnswer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

// Every connection the transport does not keep, it closes: one whose
// exchange failed, whose body was closed before its end, whose answer said
// "Connection: close" or brought bytes nobody asked for, one the pool had
// no room for, one found past IdleTimeout or not silent when taken from
// the pool, and one in use when CloseIdleConnections was called.
func TestAConnectionThatIsNotKeptIsClosed(t *testing.T) {
	for name, c := range map[string]struct {
		answer string
		stray  bool
		run    func(t *testing.T, tr *Transport, url string, stray chan struct{})
		closed int // connections the run closes
	}{
		"a failed exchange": {
			answer: "HTTP/1.1 101 Switching Protocols\r\n\r\n",
			run: func(t *testing.T, tr *Transport, url string, _ chan struct{}) {
				_, err := tr.RoundTrip(mustRequest(t, "GET", url))
				require.Error(t, err)
			},
			closed: 1,
		},
		"a body closed before its end": {
			answer: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
			run: func(t *testing.T, tr *Transport, url string, _ chan struct{}) {
				resp, err := tr.RoundTrip(mustRequest(t, "GET", url))
				require.NoError(t, err)
				resp.Body.Close()
			},
			closed: 1,
		},
		"Connection: close": {
			answer: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
			run: func(t *testing.T, tr *Transport, url string, _ chan struct{}) {
				get(t, tr, url)
			},
			closed: 1,
		},
		"bytes nobody asked for": {
			answer: okAnswer + "GARBAGE",
			run: func(t *testing.T, tr *Transport, url string, _ chan struct{}) {
				get(t, tr, url)
			},
			closed: 1,
		},
		"a full pool": {
			answer: okAnswer,
			run: func(t *testing.T, tr *Transport, url string, _ chan struct{}) {
				tr.MaxIdlePerHost = 1
				var open []*http.Response
				for range 2 { // two at once: two connections
					resp, err := tr.RoundTrip(mustRequest(t, "GET", url))
					require.NoError(t, err)
					open = append(open, resp)
				}
				for _, resp := range open {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				assert.Len(t, tr.idleConns(), 1)
			},
			closed: 1,
		},
		"past IdleTimeout when taken": {
			answer: okAnswer,
			run: func(t *testing.T, tr *Transport, url string, _ chan struct{}) {
				now := time.Unix(1000, 0)
				tr.Now = func() time.Time { return now }
				get(t, tr, url)
				now = now.Add(time.Hour)
				get(t, tr, url) // on a new connection
			},
			closed: 1,
		},
		"not silent when taken": {
			answer: okAnswer,
			stray:  true,
			run: func(t *testing.T, tr *Transport, url string, stray chan struct{}) {
				get(t, tr, url)
				close(stray)
				waitForEOF(t, tr) // the stray bytes are there
				get(t, tr, url)   // on a new connection
			},
			closed: 1,
		},
		"in use when CloseIdleConnections was called": {
			answer: okAnswer,
			run: func(t *testing.T, tr *Transport, url string, _ chan struct{}) {
				resp, err := tr.RoundTrip(mustRequest(t, "GET", url))
				require.NoError(t, err)
				tr.CloseIdleConnections()
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			},
			closed: 1,
		},
	} {
		t.Run(name, func(t *testing.T) {
			var stray chan struct{}
			if c.stray {
				stray = make(chan struct{})
			}
			url, closed := hangUpBackend(t, c.answer, stray)
			tr := &Transport{Fallback: &fallback{}, IdleTimeout: time.Hour}
			c.run(t, tr, url, stray)
			hungUp(t, closed, c.closed)
			tr.CloseIdleConnections()
		})
	}
}

// The sweep runs on its own while any connection is idle: a pool that was
// busy once and then got no more requests closes its idle connections
// once they are past IdleTimeout. The clock is the test's; the sweep's
// timer is real, and each run of the sweep reads the clock.
func TestIdleConnectionsAreSweptWithoutRequests(t *testing.T) {
	url, closed := hangUpBackend(t, okAnswer, nil)
	var now atomic.Int64 // seconds
	now.Store(1000)
	reads := make(chan struct{}, 100)
	tr := &Transport{Fallback: &fallback{}, IdleTimeout: time.Millisecond,
		Now: func() time.Time {
			t := time.Unix(now.Load(), 0)
			select { // told once the clock is read
			case reads <- struct{}{}:
			default:
			}
			return t
		}}
	defer tr.CloseIdleConnections()
	for range 2 { // twice: the sweep that emptied the pool leaves the next one to be armed
		get(t, tr, url)
		require.Len(t, tr.idleConns(), 1)
		for range len(reads) {
			<-reads // the clock reads of the request itself
		}
		select {
		case <-reads: // a sweep ran, and found the connection within IdleTimeout
		case <-time.After(10 * time.Second):
			t.Fatal("no sweep 10 s after a connection went idle")
		}
		now.Add(1) // past IdleTimeout: the next sweep, which the first armed, closes it
		hungUp(t, closed, 1)
		tr.mu.Lock()
		assert.Empty(t, tr.idle)
		assert.Nil(t, tr.sweeper, "no sweep armed while nothing is idle")
		tr.mu.Unlock()
	}
}

// CloseIdleConnections disarms the sweep, as it leaves nothing idle to
// sweep: armed, its timer outlived every connection, and kept the
// transport of a pool a reload replaced reachable for IdleTimeout (90 s
// by default) after the pool had closed its last connection.
func TestClosingTheIdleConnectionsDisarmsTheSweep(t *testing.T) {
	url, closed := hangUpBackend(t, okAnswer, nil)
	tr := &Transport{Fallback: &fallback{}, IdleTimeout: time.Hour}
	get(t, tr, url)
	require.Len(t, tr.idleConns(), 1)
	tr.CloseIdleConnections()
	hungUp(t, closed, 1)
	tr.mu.Lock()
	assert.Nil(t, tr.sweeper, "a sweep still armed once nothing is idle")
	tr.mu.Unlock()
}

// A context the transport derives for Fallback (to watch its bodies) ends
// when Fallback's answer is done with: at once when it failed or has no
// body, when its body is closed otherwise.
func TestTheWatchedContextEnds(t *testing.T) {
	for name, c := range map[string]struct {
		resp   *http.Response
		err    error
		closes bool // the response's body must be closed first
	}{
		"an error": {err: io.ErrUnexpectedEOF},
		"no body":  {resp: &http.Response{StatusCode: 204, Body: http.NoBody}},
		"a body":   {resp: &http.Response{StatusCode: 200, Body: io.NopCloser(nil)}, closes: true},
		"a tunnel": {resp: &http.Response{StatusCode: 101, Body: rwc{}}, closes: true},
	} {
		t.Run(name, func(t *testing.T) {
			var ctx context.Context
			tr := &Transport{ResponseBodyTimeout: time.Hour,
				Fallback: roundTripFunc(func(req *http.Request) (*http.Response, error) {
					ctx = req.Context()
					return c.resp, c.err
				})}
			req := mustRequest(t, "POST", "http://127.0.0.1:1/")
			req.Body = io.NopCloser(nil) // streamed: to Fallback
			resp, err := tr.RoundTrip(req)
			require.NotNil(t, ctx)
			if c.closes {
				require.NoError(t, err)
				assert.NoError(t, ctx.Err(), "the body is still to be read")
				resp.Body.Close()
			}
			assert.ErrorIs(t, ctx.Err(), context.Canceled)
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// rwc is an empty io.ReadWriteCloser: the body of an upgraded connection.
type rwc struct{}

func (rwc) Read([]byte) (int, error)    { return 0, io.EOF }
func (rwc) Write(p []byte) (int, error) { return len(p), nil }
func (rwc) Close() error                { return nil }

// Closing a Fallback body while a Read waits stops its clock: the timer
// does not stay armed for a body nobody reads any more.
func TestClosingAWatchedBodyStopsItsClock(t *testing.T) {
	body := lastBytes{arrive: make(chan struct{})}
	tr, clock := handClocked(body)
	req := mustRequest(t, "POST", "http://127.0.0.1:1/")
	req.Body = io.NopCloser(nil) // streamed: to Fallback
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := resp.Body.Read(make([]byte, 8))
		done <- err
	}()
	<-clock.resets // the Read waits, its clock running
	resp.Body.Close()
	assert.False(t, clock.isRunning(), "the clock of a closed body")
	close(body.arrive)
	within(t, done)
}

// A request already cancelled touches no connection: it neither dials
// nor takes the idle one, which stays in the pool; its body is closed, as
// a RoundTripper's must be.
func TestACancelledRequestTouchesNoConnection(t *testing.T) {
	url, closed := hangUpBackend(t, okAnswer, nil)
	var dialed atomic.Int32
	tr := &Transport{Fallback: &fallback{},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dialed.Add(1)
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}
	defer tr.CloseIdleConnections()
	get(t, tr, url)
	idle := tr.idleConns()
	require.Len(t, idle, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	body := &closeRecorder{Reader: strings.NewReader("x")}
	req, _ := http.NewRequestWithContext(ctx, "POST", url, body)
	req.ContentLength = 1
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("x")), nil }
	_, err := tr.RoundTrip(req)
	assert.ErrorIs(t, err, context.Canceled)
	assert.True(t, body.closed.Load(), "the body is closed")
	assert.Equal(t, idle, tr.idleConns(), "the idle connection is still there")
	assert.EqualValues(t, 1, dialed.Load())
	assert.Empty(t, closed)
}

// When the fresh connection for a second try cannot be dialled, the body
// made for that try is closed too.
func TestTheBodyOfASecondTryIsClosedWhenItsDialFails(t *testing.T) {
	var requests atomic.Int32
	url, _ := rawServer(t, func(c net.Conn, r *bufio.Reader) {
		for {
			req, err := http.ReadRequest(r)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			if requests.Add(1) == 2 {
				return // the second request: dropped unanswered
			}
			io.WriteString(c, okAnswer)
		}
	})
	var dials atomic.Int32
	tr := &Transport{Fallback: &fallback{},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if dials.Add(1) > 1 {
				return nil, errors.New("no second connection")
			}
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}
	defer tr.CloseIdleConnections()
	get(t, tr, url)
	var bodies []*closeRecorder
	req := mustRequest(t, "POST", url)
	req.Header.Set("Idempotency-Key", "1") // repeatable
	req.GetBody = func() (io.ReadCloser, error) {
		b := &closeRecorder{Reader: strings.NewReader("x")}
		bodies = append(bodies, b)
		return b, nil
	}
	req.Body, _ = req.GetBody()
	req.ContentLength = 1
	_, err := tr.RoundTrip(req)
	assert.ErrorContains(t, err, "no second connection")
	require.Len(t, bodies, 2, "the first try's body and the second's")
	for i, b := range bodies {
		assert.True(t, b.closed.Load(), "body %d closed", i)
	}
}

// CloseIdleConnections reaches Fallback's idle connections too.
func TestCloseIdleConnectionsReachesFallback(t *testing.T) {
	fb := &idleCloser{}
	(&Transport{Fallback: fb}).CloseIdleConnections()
	assert.True(t, fb.closed)
}

type idleCloser struct {
	fallback
	closed bool
}

func (c *idleCloser) CloseIdleConnections() { c.closed = true }

// Without ResponseBodyTimeout, Fallback's bodies have no clock.
func TestNoBodyTimeoutStartsNoClock(t *testing.T) {
	tr := &Transport{Fallback: answering{io.NopCloser(strings.NewReader("ok"))},
		afterFunc: func(time.Duration, func()) stopper {
			t.Error("a timer was started without ResponseBodyTimeout")
			return time.AfterFunc(time.Hour, func() {})
		}}
	req := mustRequest(t, "POST", "http://127.0.0.1:1/")
	req.Body = io.NopCloser(nil) // streamed: to Fallback
	code, body := do(t, tr, req)
	assert.Equal(t, 200, code)
	assert.Equal(t, "ok", body)
}

// Without ResponseBodyTimeout, a timeout error from the connection in
// the middle of a body (as a kernel's keepalive gives up) is passed on as
// it is: ErrBodyTimeout says that ResponseBodyTimeout ran out.
func TestNoBodyTimeoutMeansNoErrBodyTimeout(t *testing.T) {
	url := stallingBackend(t)
	conn := &timingOut{}
	tr := &Transport{Fallback: &fallback{},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			conn.Conn = c
			return conn, err
		}}
	resp, err := tr.RoundTrip(mustRequest(t, "GET", url))
	require.NoError(t, err)
	defer resp.Body.Close()
	_, err = io.ReadFull(resp.Body, make([]byte, len("part")))
	require.NoError(t, err)
	conn.fail.Store(true)
	_, err = resp.Body.Read(make([]byte, 1))
	assert.ErrorIs(t, err, errConnTimedOut)
	assert.NotErrorIs(t, err, ErrBodyTimeout)
}

// timingOut is a connection whose reads fail with a timeout once fail is
// set.
type timingOut struct {
	net.Conn
	fail atomic.Bool
}

func (c *timingOut) Read(p []byte) (int, error) {
	if c.fail.Load() {
		return 0, errConnTimedOut
	}
	return c.Conn.Read(p)
}

var errConnTimedOut error = connTimedOut{}

type connTimedOut struct{}

func (connTimedOut) Error() string { return "connection timed out" }
func (connTimedOut) Timeout() bool { return true }

// afterFire is a Fallback body whose one Read waits for the test, then
// returns n bytes and err: what http.Transport's body may return once the
// clock has cancelled the request.
type afterFire struct {
	arrive chan struct{}
	n      int
	err    error
}

func (a afterFire) Read(p []byte) (int, error) {
	<-a.arrive
	return a.n, a.err
}

func (afterFire) Close() error { return nil }

// A Read that the clock cut short is ErrBodyTimeout, whatever error the
// cancelled request gave (here the plain one of a Go that did not report
// a context's cause); one that brought bytes as the clock ran out is not
// an error.
func TestAReadTheClockCutShortIsErrBodyTimeout(t *testing.T) {
	for name, c := range map[string]struct {
		n       int
		err     error
		wantErr error
	}{
		"cut short":      {0, context.Canceled, ErrBodyTimeout},
		"bytes, in time": {3, nil, nil},
	} {
		t.Run(name, func(t *testing.T) {
			body := afterFire{arrive: make(chan struct{}), n: c.n, err: c.err}
			tr, clock := handClocked(body)
			req := mustRequest(t, "POST", "http://127.0.0.1:1/")
			req.Body = io.NopCloser(nil) // streamed: to Fallback
			resp, err := tr.RoundTrip(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			errc := make(chan error, 1)
			go func() {
				_, err := resp.Body.Read(make([]byte, 8))
				errc <- err
			}()
			<-clock.resets // the Read waits
			clock.fire()
			close(body.arrive)
			err = within(t, errc)
			if c.wantErr == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, c.wantErr)
		})
	}
}
