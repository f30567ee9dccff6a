package direct

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/deadaddr"
)

func TestReusesOneConnectionForSequentialRequests(t *testing.T) {
	srv, conns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+r.URL.Path)
	}))
	fb := &fallback{}
	tr := &Transport{Fallback: fb}
	for i := range 20 {
		code, body := get(t, tr, fmt.Sprintf("%s/%d", srv.URL, i))
		require.Equal(t, 200, code)
		require.Equal(t, fmt.Sprintf("hello /%d", i), body)
	}
	assert.EqualValues(t, 1, conns.Load(), "connections opened")
	assert.Zero(t, fb.asked.Load(), "requests sent to Fallback")
}

// TestSendsWhatHTTPTransportSends compares the raw bytes a backend
// receives from this transport and from http.Transport for the same
// request: the same request line, headers in the same order and case, and
// body (http.Transport's transparent gzip aside, which a proxy does not
// want: it is turned off for the comparison).
func TestSendsWhatHTTPTransportSends(t *testing.T) {
	got := make(chan string, 1)
	url, _ := rawServer(t, func(c net.Conn, r *bufio.Reader) {
		for {
			var raw bytes.Buffer
			req, err := http.ReadRequest(bufio.NewReader(io.TeeReader(r, &raw)))
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			got <- raw.String()
			io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n")
		}
	})
	newReq := func() *http.Request {
		req, err := http.NewRequest("PUT", url+"/a/b?x=1&y=%20", bytes.NewReader([]byte(`{"n":1}`)))
		require.NoError(t, err)
		req.Host = "shop.example"
		req.Header.Set("X-Forwarded-For", "10.0.0.1")
		req.Header["User-Agent"] = nil // as httputil.ReverseProxy does: send none
		req.Header.Add("Accept", "text/plain")
		req.Header.Add("Accept", "application/json")
		return req // NewRequest set GetBody for the bytes.Reader
	}
	std := &http.Transport{DisableCompression: true}
	defer std.CloseIdleConnections()
	do(t, std, newReq())
	want := <-got
	do(t, &Transport{Fallback: &fallback{}}, newReq())
	assert.Empty(t, cmp.Diff(want, <-got))
	assert.Contains(t, want, "PUT /a/b?x=1&y=%20 HTTP/1.1\r\nHost: shop.example\r\n")
}

func TestSendsASmallBodyItselfAndTheRestToFallback(t *testing.T) {
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %d", b, r.ContentLength)
	}))
	fb := &fallback{}
	tr := &Transport{Fallback: fb}

	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader("in memory"))
	_, body := do(t, tr, req)
	assert.Equal(t, "in memory 9", body)
	assert.Zero(t, fb.asked.Load(), "a body with GetBody goes direct")

	streamed := []struct {
		name string
		req  func() *http.Request
	}{
		{"a body that cannot be sent twice", func() *http.Request {
			r, _ := http.NewRequest("POST", srv.URL, io.NopCloser(strings.NewReader("streamed")))
			r.ContentLength = 8
			return r
		}},
		{"a body of unknown length", func() *http.Request {
			r, _ := http.NewRequest("POST", srv.URL, strings.NewReader("chunked"))
			r.ContentLength = -1
			return r
		}},
		{"a body of length 0, which is unknown", func() *http.Request {
			r, _ := http.NewRequest("POST", srv.URL, strings.NewReader("chunked"))
			r.ContentLength = 0 // with a Body not http.NoBody: unknown, as Request.ContentLength says
			return r
		}},
		{"an upgrade", func() *http.Request {
			r, _ := http.NewRequest("GET", srv.URL, nil)
			r.Header.Set("Upgrade", "websocket")
			return r
		}},
		{"Expect: 100-continue", func() *http.Request {
			r, _ := http.NewRequest("PUT", srv.URL, strings.NewReader("x"))
			r.Header.Set("Expect", "100-continue")
			return r
		}},
	}
	for i, c := range streamed {
		t.Run(c.name, func(t *testing.T) {
			do(t, tr, c.req())
			assert.EqualValues(t, i+1, fb.asked.Load())
		})
	}
}

func TestClosingABodyEarlyClosesTheConnection(t *testing.T) {
	srv, conns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/small" {
			io.WriteString(w, "ok")
			return
		}
		// An endless body: a transport that drained it on Close would
		// never return.
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	tr := &Transport{Fallback: &fallback{}}
	resp, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL+"/endless"))
	require.NoError(t, err)
	_, err = io.ReadFull(resp.Body, make([]byte, 100))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Empty(t, tr.idleConns(), "closed, not kept")
	_, err = resp.Body.Read(make([]byte, 1))
	assert.Error(t, err, "a read after Close")

	code, _ := get(t, tr, srv.URL+"/small")
	assert.Equal(t, 200, code)
	assert.EqualValues(t, 2, conns.Load(), "the first connection was not reused")
}

// A body may be closed while another goroutine waits in its Read, to
// stop that read, as with http.Transport's bodies: the Read returns, and
// the two do not race (-race).
func TestClosingABodyWhileItIsReadUnblocksTheRead(t *testing.T) {
	url := stallingBackend(t)
	for name, timeout := range map[string]time.Duration{"no body timeout": 0, "a body timeout": time.Hour} {
		t.Run(name, func(t *testing.T) {
			tr := &Transport{Fallback: &fallback{}, ResponseBodyTimeout: timeout}
			defer tr.CloseIdleConnections()
			resp, err := tr.RoundTrip(mustRequest(t, "GET", url))
			require.NoError(t, err)
			started := make(chan struct{})
			errc := make(chan error, 1)
			go func() {
				b := make([]byte, len("part"))
				if _, err := io.ReadFull(resp.Body, b); err != nil {
					errc <- err
					return
				}
				close(started)
				_, err := resp.Body.Read(b) // waits: the backend sends nothing more
				errc <- err
			}()
			select {
			case <-started:
			case err := <-errc:
				t.Fatal(err)
			}
			require.NoError(t, resp.Body.Close())
			assert.ErrorIs(t, within(t, errc), errBodyClosed)
			assert.Empty(t, tr.idleConns(), "closed, not kept")
		})
	}
}

func TestConnectionCloseIsHonoured(t *testing.T) {
	srv, conns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/last" {
			w.Header().Set("Connection", "close")
		}
		io.WriteString(w, "ok")
	}))
	tr := &Transport{Fallback: &fallback{}}
	get(t, tr, srv.URL+"/a")
	assert.Len(t, tr.idleConns(), 1)
	get(t, tr, srv.URL+"/last")
	assert.Empty(t, tr.idleConns(), "the connection that said close is not kept")
	for _, path := range []string{"/b", "/c"} {
		get(t, tr, srv.URL+path)
	}
	assert.EqualValues(t, 2, conns.Load(), "a new connection after Connection: close, then reuse")
}

func TestHeadAndNoContentReturnTheConnectionAtOnce(t *testing.T) {
	srv, conns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/204" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Length", "5")
		io.WriteString(w, "hello")
	}))
	tr := &Transport{Fallback: &fallback{}}
	for range 3 {
		resp, err := tr.RoundTrip(mustRequest(t, "HEAD", srv.URL+"/"))
		require.NoError(t, err)
		assert.EqualValues(t, 5, resp.ContentLength)
		resp.Body.Close()
		code, body := get(t, tr, srv.URL+"/204")
		assert.Equal(t, 204, code)
		assert.Empty(t, body)
	}
	assert.EqualValues(t, 1, conns.Load())
}

func TestSkipsInformationalResponses(t *testing.T) {
	url, _ := rawServer(t, func(c net.Conn, r *bufio.Reader) {
		if _, err := http.ReadRequest(r); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"+
			"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal")
	})
	var hints []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		hints = append(hints, fmt.Sprint(code, " ", h.Get("Link")))
		return nil
	}}
	req := mustRequest(t, "GET", url)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	code, body := do(t, &Transport{Fallback: &fallback{}}, req)
	assert.Equal(t, 200, code)
	assert.Equal(t, "final", body)
	assert.Equal(t, []string{"103 </a.css>; rel=preload"}, hints, "told to the trace, as httputil.ReverseProxy expects")
}

func TestBytesNobodyAskedForCondemnTheConnection(t *testing.T) {
	url, accepted := rawServer(t, func(c net.Conn, r *bufio.Reader) {
		for {
			if _, err := http.ReadRequest(r); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokGARBAGE")
		}
	})
	tr := &Transport{Fallback: &fallback{}}
	for range 3 {
		code, body := get(t, tr, url)
		require.Equal(t, 200, code)
		require.Equal(t, "ok", body)
	}
	assert.EqualValues(t, 3, accepted.Load(), "no connection reused")
}

// closeAfterOne is a backend that answers one request per connection
// and then closes it, though its answer said keep-alive: what a backend
// does when its idle timeout is shorter than the proxy's, or when it
// restarts. Each request it answers is counted in seen.
func closeAfterOne(seen *atomic.Int32, closed chan<- struct{}) func(net.Conn, *bufio.Reader) {
	return func(c net.Conn, r *bufio.Reader) {
		req, err := http.ReadRequest(r)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		seen.Add(1)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		c.Close()
		if closed != nil {
			closed <- struct{}{}
		}
	}
}

func TestAGetOnAStaleConnectionIsRetriedOnAFreshOne(t *testing.T) {
	var seen atomic.Int32
	url, accepted := rawServer(t, closeAfterOne(&seen, nil))
	tr := &Transport{Fallback: &fallback{}}
	for range 5 {
		code, body := get(t, tr, url)
		require.Equal(t, 200, code)
		require.Equal(t, "ok", body)
	}
	assert.EqualValues(t, 5, seen.Load(), "each GET answered once")
	assert.LessOrEqual(t, accepted.Load(), int32(9), "at most one stale try per request")
}

func TestAPostIsNotSentOnAConnectionTheBackendClosed(t *testing.T) {
	var seen atomic.Int32
	closed := make(chan struct{}, 10)
	url, accepted := rawServer(t, closeAfterOne(&seen, closed))
	tr := &Transport{Fallback: &fallback{}}
	for i := range 5 {
		req := mustRequest(t, "POST", url)
		req.Body = io.NopCloser(strings.NewReader("pay"))
		req.ContentLength = 3
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("pay")), nil }
		code, _ := do(t, tr, req)
		require.Equal(t, 200, code, "POST %d", i)
		<-closed
		waitForEOF(t, tr) // the FIN has reached the idle connection
	}
	assert.EqualValues(t, 5, seen.Load())
	assert.EqualValues(t, 5, accepted.Load(), "no POST was tried on the closed connection")
}

func TestAPostThatFailsAfterBeingSentIsNotRetried(t *testing.T) {
	var seen atomic.Int32
	url, _ := rawServer(t, func(c net.Conn, r *bufio.Reader) {
		for {
			req, err := http.ReadRequest(r)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			if seen.Add(1) > 1 {
				return // received, maybe acted on, then the connection broke
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	tr := &Transport{Fallback: &fallback{}}
	get(t, tr, url) // leaves an idle connection
	req := mustRequest(t, "POST", url)
	req.Body, req.ContentLength = io.NopCloser(strings.NewReader("pay")), 3
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("pay")), nil }
	_, err := tr.RoundTrip(req)
	assert.Error(t, err)
	assert.EqualValues(t, 2, seen.Load(), "the GET and one POST: the POST was not sent again")
}

func TestCancellingUnblocksTheExchange(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	arrived := make(chan struct{})
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
	}))
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	errc := make(chan error, 1)
	go func() {
		_, err := (&Transport{Fallback: &fallback{}}).RoundTrip(req)
		errc <- err
	}()
	<-arrived
	cancel()
	assert.ErrorIs(t, within(t, errc), context.Canceled)
}

// within waits for errc, and fails the test if that takes more than 10 s:
// what is tested returns at once, and a failure should not hang the run.
func within(t *testing.T, errc <-chan error) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("still blocked after 10 s")
		return nil
	}
}

func TestResponseHeaderTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	tr := &Transport{Fallback: &fallback{}, ResponseHeaderTimeout: 20 * time.Millisecond}
	req := mustRequest(t, "GET", srv.URL) // here: mustRequest's require is for the test's goroutine
	errc := make(chan error, 1)
	go func() {
		_, err := tr.RoundTrip(req)
		errc <- err
	}()
	err := within(t, errc)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout())
	assert.Contains(t, err.Error(), "timeout awaiting response headers")
}

func TestIdleConnectionsExpire(t *testing.T) {
	srv, conns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	now := time.Unix(1000, 0)
	tr := &Transport{Fallback: &fallback{}, IdleTimeout: time.Minute, Now: func() time.Time { return now }}
	get(t, tr, srv.URL)
	now = now.Add(59 * time.Second)
	get(t, tr, srv.URL)
	assert.EqualValues(t, 1, conns.Load(), "reused within IdleTimeout")
	now = now.Add(time.Minute)
	get(t, tr, srv.URL)
	assert.EqualValues(t, 2, conns.Load(), "not reused after IdleTimeout")

	idle := tr.idleConns()
	require.Len(t, idle, 1)
	tr.sweep()
	assert.Len(t, tr.idleConns(), 1, "the sweep keeps a connection still within IdleTimeout")
	now = now.Add(time.Minute)
	tr.sweep()
	assert.Empty(t, tr.idleConns())
	idle[0].SetReadDeadline(time.Now().Add(10 * time.Second)) // a failure, not a hang, if it is still open
	_, err := idle[0].Read(make([]byte, 1))
	assert.ErrorIs(t, err, net.ErrClosed, "the sweep closed it")
}

func TestCloseIdleConnections(t *testing.T) {
	srv, conns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tr := &Transport{Fallback: &fallback{}}
	get(t, tr, srv.URL)
	idle := tr.idleConns()
	tr.CloseIdleConnections()
	_, err := idle[0].Read(make([]byte, 1))
	assert.ErrorIs(t, err, net.ErrClosed)
	get(t, tr, srv.URL)
	assert.EqualValues(t, 2, conns.Load())
}

func TestADialErrorIsReturned(t *testing.T) {
	_, err := (&Transport{Fallback: &fallback{}}).RoundTrip(mustRequest(t, "GET", deadaddr.URL(t)))
	var op *net.OpError
	require.ErrorAs(t, err, &op)
	assert.Equal(t, "dial", op.Op)
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	return req
}

// idleConns lists the idle connections, for tests.
func (t *Transport) idleConns() []net.Conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	var all []net.Conn
	for _, list := range t.idle {
		for _, c := range list {
			all = append(all, c.nc)
		}
	}
	return all
}

// BenchmarkParallelGET compares this transport with a tuned
// http.Transport on many concurrent GETs to one loopback backend.
func BenchmarkParallelGET(b *testing.B) {
	srv := httptestServer(b)
	defer srv.Close()
	std := &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}
	defer std.CloseIdleConnections()
	for _, c := range []struct {
		name string
		rt   http.RoundTripper
	}{{"http.Transport", std}, {"direct", &Transport{Fallback: std}}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				req, _ := http.NewRequest("GET", srv.URL, nil)
				for pb.Next() {
					resp, err := c.rt.RoundTrip(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		})
	}
}

func TestABodyReadToItsEndGivesTheConnectionBack(t *testing.T) {
	srv, conns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "all of it")
	}))
	tr := &Transport{Fallback: &fallback{}}
	resp, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL))
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "all of it", string(b))
	assert.Len(t, tr.idleConns(), 1, "idle again before Close")
	n, err := resp.Body.Read(make([]byte, 1))
	assert.Equal(t, 0, n)
	assert.ErrorIs(t, err, io.EOF, "and the body goes on saying EOF")
	get(t, tr, srv.URL)
	resp.Body.Close() // late: must not touch the connection another request used
	get(t, tr, srv.URL)
	assert.EqualValues(t, 1, conns.Load())
}

func TestASlowBackendIsNotAskedTwice(t *testing.T) {
	var seen atomic.Int32
	release := make(chan struct{})
	defer close(release)
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen.Add(1) > 1 {
			<-release
		}
	}))
	tr := &Transport{Fallback: &fallback{}}
	get(t, tr, srv.URL) // answered: its connection is reused next
	// Only the second request has the short timeout: the first one's
	// answer must not race a 20 ms deadline on a slow machine.
	tr.ResponseHeaderTimeout = 20 * time.Millisecond
	_, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL))
	require.ErrorIs(t, err, errHeaderTimeout)
	assert.EqualValues(t, 2, seen.Load(), "a timeout on a reused connection is not retried on a fresh one")
}
