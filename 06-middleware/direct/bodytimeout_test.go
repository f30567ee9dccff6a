package direct

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stallingBackend answers with the start of a body, then sends nothing
// more until the test ends.
func stallingBackend(t *testing.T) string {
	release := make(chan struct{})
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte("part"))
		w.(http.Flusher).Flush()
		<-release
	}))
	t.Cleanup(func() { close(release) }) // before srv.Close, which waits for the handler
	return srv.URL
}

// readToTheEnd reads body until it fails, within 10 s, and returns what
// it read and the error.
func readToTheEnd(t *testing.T, body io.Reader) (string, error) {
	t.Helper()
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(body)
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		return string(r.b), r.err
	case <-time.After(10 * time.Second):
		t.Fatal("reading the body still blocked after 10 s")
		return "", nil
	}
}

// A backend that stops in the middle of a body fails the read with
// ErrBodyTimeout, a timeout, on both paths: the direct one (a GET) and
// Fallback's (a POST whose body is streamed).
func TestResponseBodyTimeout(t *testing.T) {
	url := stallingBackend(t)
	for name, streamed := range map[string]bool{"direct": false, "fallback": true} {
		t.Run(name, func(t *testing.T) {
			fb := &fallback{}
			tr := &Transport{Fallback: fb, ResponseBodyTimeout: 20 * time.Millisecond}
			req := mustRequest(t, "GET", url)
			if streamed {
				req = mustRequest(t, "POST", url)
				req.Body = io.NopCloser(strings.NewReader("a body of unknown length"))
			}
			resp, err := tr.RoundTrip(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			got, err := readToTheEnd(t, resp.Body)
			assert.Equal(t, "part", got)
			require.ErrorIs(t, err, ErrBodyTimeout)
			var ne net.Error
			require.ErrorAs(t, err, &ne)
			assert.True(t, ne.Timeout())
			assert.EqualValues(t, map[bool]int32{false: 0, true: 1}[streamed], fb.asked.Load(), "the path taken")
		})
	}
}

// deadlines is a connection that records the read deadlines set on it.
type deadlines struct {
	net.Conn
	mu  sync.Mutex
	set []time.Time
}

func (d *deadlines) SyscallConn() (syscall.RawConn, error) { return socketOf(d.Conn) }

func (d *deadlines) SetReadDeadline(t time.Time) error {
	d.mu.Lock()
	d.set = append(d.set, t)
	d.mu.Unlock()
	return d.Conn.SetReadDeadline(t)
}

func (d *deadlines) list() []time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]time.Time(nil), d.set...)
}

// On the direct path every Read of a body sets the deadline afresh, so
// that it bounds each pause, not the whole body; a body read to its end
// clears it before its connection goes back to the pool, where a stale
// deadline would fail the next exchange's reads.
func TestTheBodyDeadlineIsSetOnEveryReadAndCleared(t *testing.T) {
	next := make(chan struct{})
	ended := make(chan struct{})
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, part := range []string{"a", "b"} {
			w.Write([]byte(part))
			w.(http.Flusher).Flush()
			select {
			case <-next:
			case <-ended:
				return
			}
		}
	}))
	t.Cleanup(func() { close(ended) }) // before srv.Close, which waits for the handler: a failure is not a hang
	var conn *deadlines
	tr := &Transport{Fallback: &fallback{}, ResponseBodyTimeout: time.Hour,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			conn = &deadlines{Conn: c}
			return conn, nil
		}}
	resp, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Empty(t, conn.list(), "no deadline before the body (no ResponseHeaderTimeout)")

	reads := 0
	var got []byte
	buf := make([]byte, 64)
	for {
		before := time.Now()
		n, err := resp.Body.Read(buf)
		reads++
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		set := conn.list()
		require.Len(t, set, reads, "one deadline per Read")
		assert.False(t, set[reads-1].Before(before.Add(time.Hour)), "read %d: the deadline is an hour from the Read", reads)
		if n > 0 {
			next <- struct{}{}
		}
	}
	assert.Equal(t, "ab", string(got))
	set := conn.list()
	require.Len(t, set, reads+1, "one deadline per Read, and one to clear it")
	assert.True(t, set[reads].IsZero(), "the deadline is cleared at the end of the body")
	assert.Len(t, tr.idleConns(), 1, "the connection went back to the pool")
}

// handClock is a timer for Transport.afterFunc that runs only when the
// test fires it.
type handClock struct {
	mu      sync.Mutex
	f       func()
	running bool
	resets  chan struct{} // one value for every Reset
}

func (h *handClock) Reset(time.Duration) bool {
	h.mu.Lock()
	h.running = true
	h.mu.Unlock()
	h.resets <- struct{}{}
	return false
}

func (h *handClock) Stop() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	was := h.running
	h.running = false
	return was
}

func (h *handClock) isRunning() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.running
}

// fire runs the timer's function, as a real timer that ran out would.
func (h *handClock) fire() {
	h.mu.Lock()
	run := h.running
	h.running = false
	h.mu.Unlock()
	if run {
		h.f()
	}
}

// Fallback's bodies are watched by a timer that runs only while a Read
// waits: stopped between Reads (the proxy's own time, writing to its
// client) and started afresh by each one; when it runs out, the waiting
// Read fails with ErrBodyTimeout.
func TestTheFallbackBodyClockRunsOnlyWhileAReadWaits(t *testing.T) {
	url := stallingBackend(t)
	clock := &handClock{resets: make(chan struct{}, 8)}
	tr := &Transport{Fallback: &fallback{}, ResponseBodyTimeout: time.Minute,
		afterFunc: func(d time.Duration, f func()) stopper {
			assert.Equal(t, time.Minute, d)
			clock.f = f
			clock.running = true // as time.AfterFunc: running from the start
			return clock
		}}
	req := mustRequest(t, "POST", url)
	req.Body = io.NopCloser(strings.NewReader("streamed"))
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.False(t, clock.isRunning(), "stopped until the first Read")

	buf := make([]byte, 64)
	n, err := resp.Body.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "part", string(buf[:n]))
	<-clock.resets
	assert.False(t, clock.isRunning(), "stopped once a Read has returned")
	clock.fire() // a stopped timer that fires does nothing

	errc := make(chan error, 1)
	go func() {
		_, err := resp.Body.Read(buf)
		errc <- err
	}()
	<-clock.resets // the Read has started the clock and waits for the backend
	clock.fire()
	require.ErrorIs(t, within(t, errc), ErrBodyTimeout)
}

// An Upgrade's answer is a tunnel, which may be quiet for as long as its
// ends like: no clock watches it, and its body is still the
// io.ReadWriteCloser that httputil.ReverseProxy needs to join the two.
func TestATunnelIsNotWatched(t *testing.T) {
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\nhi")
		brw.Flush()
		io.Copy(io.Discard, bufio.NewReader(c)) // until the client closes
	}))
	tr := &Transport{Fallback: &fallback{}, ResponseBodyTimeout: time.Minute,
		afterFunc: func(time.Duration, func()) stopper {
			t.Error("a timer was started for an Upgrade's answer")
			return time.AfterFunc(time.Hour, func() {})
		}}
	req := mustRequest(t, "GET", srv.URL)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "test")
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	rwc, ok := resp.Body.(io.ReadWriteCloser)
	require.True(t, ok, "the body of a 101 is %T, not an io.ReadWriteCloser", resp.Body)
	buf := make([]byte, 2)
	_, err = io.ReadFull(rwc, buf)
	require.NoError(t, err)
	assert.Equal(t, "hi", string(buf))
}

// answering is a Fallback that answers every request with 200 and body,
// without touching the network.
type answering struct{ body io.ReadCloser }

func (a answering) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: a.body, Request: req}, nil
}

// handClocked returns a Transport that passes every request to a
// Fallback answering with body, and the hand-driven clock its
// ResponseBodyTimeout starts for that body.
func handClocked(body io.ReadCloser) (*Transport, *handClock) {
	clock := &handClock{resets: make(chan struct{}, 8)}
	tr := &Transport{Fallback: answering{body}, ResponseBodyTimeout: time.Minute,
		afterFunc: func(_ time.Duration, f func()) stopper {
			clock.f = f
			return clock
		}}
	return tr, clock
}

// lastBytes is a body whose one Read waits for the test, then returns
// its last bytes with io.EOF: what http.Transport's body returns when
// they were already in its buffer as the request was cancelled.
type lastBytes struct{ arrive chan struct{} }

func (l lastBytes) Read(p []byte) (int, error) {
	<-l.arrive
	return copy(p, "end"), io.EOF
}

func (lastBytes) Close() error { return nil }

// A timer that runs out while the last bytes arrive does not turn the
// end of a whole body into ErrBodyTimeout: the body is complete, and a
// proxy that saw an error would cut its client's copy short.
func TestTheEndOfABodyIsNotATimeout(t *testing.T) {
	body := lastBytes{arrive: make(chan struct{})}
	tr, clock := handClocked(body)
	req := mustRequest(t, "POST", "http://127.0.0.1:1/")
	req.Body = io.NopCloser(strings.NewReader("streamed")) // to Fallback
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	defer resp.Body.Close()

	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := resp.Body.Read(make([]byte, 64))
		done <- result{n, err}
	}()
	<-clock.resets            // the Read waits
	clock.fire()              // the timer runs out...
	body.arrive <- struct{}{} // ...as the last bytes come in
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the Read still blocked after 10 s")
	}
	assert.Equal(t, 3, r.n)
	assert.Equal(t, io.EOF, r.err, "the body ended whole")
}

// A request that asks for an Upgrade goes to Fallback, but only an
// answer of 101 is a tunnel: a backend that declines (here, one that
// ignores the header, as most do) and then stalls mid-body is cut off
// like any other.
func TestADeclinedUpgradeIsWatched(t *testing.T) {
	url := stallingBackend(t)
	fb := &fallback{}
	tr := &Transport{Fallback: fb, ResponseBodyTimeout: 20 * time.Millisecond}
	req := mustRequest(t, "GET", url)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	got, err := readToTheEnd(t, resp.Body)
	assert.Equal(t, "part", got)
	assert.ErrorIs(t, err, ErrBodyTimeout)
	assert.EqualValues(t, 1, fb.asked.Load(), "the path taken")
}

// pastDeadline is a connection that says when a deadline in the past is
// set on it: the cancellation's.
type pastDeadline struct {
	net.Conn
	once sync.Once
	set  chan struct{}
}

func (p *pastDeadline) SetDeadline(t time.Time) error {
	err := p.Conn.SetDeadline(t)
	if t.Before(time.Now()) {
		p.once.Do(func() { close(p.set) })
	}
	return err
}

// A cancellation sets a past deadline on the connection; the next Read of
// the body sets its own, an hour away, over it, and must notice that the
// request is over: else it waits for the hour.
func TestABodyReadAfterACancellationDoesNotWait(t *testing.T) {
	url := stallingBackend(t)
	conn := &pastDeadline{set: make(chan struct{})}
	tr := &Transport{Fallback: &fallback{}, ResponseBodyTimeout: time.Hour,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			conn.Conn = c
			return conn, err
		}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, err := tr.RoundTrip(mustRequest(t, "GET", url).WithContext(ctx))
	require.NoError(t, err)
	defer resp.Body.Close()
	buf := make([]byte, 4)
	_, err = io.ReadFull(resp.Body, buf)
	require.NoError(t, err)

	cancel()
	select {
	case <-conn.set: // the cancellation's deadline is on the connection
	case <-time.After(10 * time.Second):
		t.Fatal("no past deadline 10 s after the cancellation")
	}
	errc := make(chan error, 1)
	go func() {
		_, err := resp.Body.Read(buf)
		errc <- err
	}()
	assert.ErrorIs(t, within(t, errc), context.Canceled)
}
