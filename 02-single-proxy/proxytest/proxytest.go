// Package proxytest holds checks that any single-backend reverse proxy, or
// any part of one, must pass. The course runs them on its own code, and the
// chapter's exercises run them on yours, the way nettest.TestConn checks
// any net.Conn.
//
// Each check starts its own backend and proxy on 127.0.0.1 with httptest,
// and reports a failure in words that say what went wrong. CaptureLog is
// for tests that read what a proxy logs, Exchange for those that write a
// request raw, and Start for those that run a stage's program.
package proxytest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/01-backends/deadaddr"
	"github.com/gocourse/gateway/02-single-proxy/proxy"
)

// Timeout bounds how long a check waits for anything, so that a proxy that
// hangs fails the check instead of hanging it.
const Timeout = 20 * time.Second

// DeadTarget returns the URL of a local port on which nothing listens, so
// a connection to it is refused at once. The port stays taken until the
// test ends (deadaddr.New), so no other test running alongside can start a
// server on it.
func DeadTarget(t testing.TB) *url.URL {
	t.Helper()
	return &url.URL{Scheme: "http", Host: deadaddr.New(t)}
}

// CheckErrorHandler checks an ErrorHandler for a ReverseProxy: when the
// backend cannot be reached, the client must get a 502 Bad Gateway whose
// body names the backend, every time, and never an empty 200.
//
// It tries two backends: one that refuses connections, and one that
// accepts the request and hangs up without answering. The second one's
// error is a bare "EOF", which does not name the backend, so a handler
// that only echoes err.Error() fails it: the body must name the backend
// from the request (r.URL.Host), whatever the error says.
func CheckErrorHandler(t *testing.T, h func(http.ResponseWriter, *http.Request, error)) {
	backends := []struct {
		name   string
		target *url.URL
	}{
		{"refused", DeadTarget(t)},
		{"hangs up", HangUpTarget(t)},
	}
	for _, b := range backends {
		p := proxy.New(b.target, nil)
		p.ErrorHandler = h
		front := httptest.NewServer(p)
		defer front.Close()

		for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
			t.Run(b.name+"/"+method, func(t *testing.T) {
				req, err := http.NewRequest(method, front.URL+"/echo", strings.NewReader("payload"))
				require.NoError(t, err)
				resp, err := front.Client().Do(req)
				require.NoError(t, err, "the proxy must answer, not drop the connection")
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				require.NoError(t, err)

				assert.Equal(t, http.StatusBadGateway, resp.StatusCode,
					"an unreachable backend must be a 502 Bad Gateway; did the handler call WriteHeader (or http.Error), and before it wrote the body?")
				assert.Contains(t, string(body), b.target.Host,
					"the body must say which backend (%s) could not be reached, whatever the error says (here the backend %s)", b.target.Host, b.name)
				contentType := resp.Header.Get("Content-Type")
				assert.NotEmpty(t, contentType,
					"the body needs a Content-Type (text/plain or application/json)")
				if json.Valid(body) {
					mediaType, _, _ := mime.ParseMediaType(contentType)
					assert.Equal(t, "application/json", mediaType,
						"the body is JSON, so its Content-Type must say so; set it before WriteHeader (without one, Go guesses text/plain from the bytes)")
				}
			})
		}
	}
}

// HangUpTarget returns the URL of a local server that reads each request
// and closes the connection without answering, as a backend that crashes
// mid-request does. A proxy's Transport then fails with a bare io.EOF,
// an error that, unlike a refused dial's, does not name the address. The
// server stops when the test ends.
func HangUpTarget(t testing.TB) *url.URL {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read the whole request first: closing a connection with unread
		// bytes sends a reset, whose error text names the address.
		io.Copy(io.Discard, r.Body)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err) // httptest's HTTP/1.1 server can always hijack
		}
		conn.Close()
	}))
	t.Cleanup(srv.Close)
	return &url.URL{Scheme: "http", Host: srv.Listener.Addr().String()}
}

// CheckTransport checks that a Transport made by newTransport keeps its
// connections to a backend under concurrent load: for rounds of 32
// concurrent requests through a proxy, the backend must see at most 32 new
// connections in all, one per concurrent request, each reused round after
// round. http.DefaultTransport fails: it keeps 2 idle connections per host.
func CheckTransport(t *testing.T, newTransport func() http.RoundTripper) {
	const concurrency, rounds = 32, 4
	opened := NewConns(t, newTransport(), concurrency, rounds)
	assert.LessOrEqual(t, opened, concurrency,
		"%d rounds of %d concurrent requests opened %d backend connections; a Transport that keeps its idle connections opens at most %d "+
			"(look at MaxIdleConnsPerHost, the idle connections kept per backend, and MaxIdleConns, those kept for all backends together: both must be at least %d; MaxIdleConns may also be 0, no limit)",
		rounds, concurrency, opened, concurrency, concurrency)
}

// NewConns sends rounds of concurrency simultaneous GET requests through a
// proxy that uses transport, and returns how many connections the backend
// accepted in all (a dial the Transport made).
//
// The backend holds each request until all of its round have arrived, so
// exactly concurrency requests, each on its own connection, are in flight at
// once; and a round starts only when the one before it has finished, so
// between rounds every connection is back in the Transport's idle pool, or
// closed because the pool was full. The count therefore depends on the
// Transport's settings, not on the machine's speed: with room for
// concurrency idle connections it is concurrency; with room for k it is
// concurrency + (rounds-1)*(concurrency-k).
//
// It closes the Transport's idle connections when done, if it can.
func NewConns(t testing.TB, transport http.RoundTripper, concurrency, rounds int) int {
	t.Helper()
	// The backend speaks HTTP/1.1, one request at a time on a connection,
	// and holds each until its whole round has arrived: a Transport that
	// opens fewer connections to a host than that never gets a round
	// there, and the round would wait for Timeout, then say only how many
	// arrived. The setting is there to read, so it is named at once.
	if tr, ok := transport.(*http.Transport); ok && tr.MaxConnsPerHost > 0 && tr.MaxConnsPerHost < concurrency {
		t.Fatalf("the Transport's MaxConnsPerHost is %d, fewer than the %d concurrent requests of a round: the others wait for a connection, "+
			"which the backend, waiting for all %d, never frees (MaxConnsPerHost limits the connections to one backend, in use and idle together; 0 means no limit)",
			tr.MaxConnsPerHost, concurrency, concurrency)
	}
	arrived := make(chan struct{})
	proceed := make(chan struct{}, concurrency)
	back := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		case <-r.Context().Done():
			return
		}
		select {
		case <-proceed:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "ok\n")
	}))
	var counter connCounter
	back.Config.ConnState = counter.track
	back.Start()
	defer back.Close()

	target, err := url.Parse(back.URL)
	require.NoError(t, err)
	// Counting the requests handed to the Transport tells a round that
	// stalls inside it (a connection limit) from one that stalls before.
	// A nil transport is proxy.New's own, made here so that it is counted.
	if transport == nil {
		transport = proxy.NewTransport()
	}
	counted := &countingTransport{next: transport}
	front := httptest.NewServer(proxy.New(target, counted))
	defer front.Close()
	if c, ok := transport.(interface{ CloseIdleConnections() }); ok {
		defer c.CloseIdleConnections()
	}

	// The client keeps its own connections to the proxy, so that only the
	// proxy's Transport is measured.
	clientTransport := &http.Transport{MaxIdleConnsPerHost: concurrency}
	defer clientTransport.CloseIdleConnections()
	client := &http.Client{Transport: clientTransport}

	ctx, cancel := context.WithTimeout(context.Background(), roundTimeout)
	defer cancel()
	for round := 1; round <= rounds; round++ {
		errs := make(chan error, concurrency)
		for range concurrency {
			go func() { errs <- get(ctx, client, front.URL+"/") }()
		}
		for i := range concurrency {
			select {
			case <-arrived:
			case <-ctx.Done():
				// A limit inside a RoundTripper of the learner's own
				// cannot be read as the plain Transport's is above; what
				// can be said is where the requests stopped.
				handed := counted.load() - (round-1)*concurrency
				if handed < concurrency {
					t.Fatalf("round %d: only %d of %d concurrent requests reached the backend at once, and %d reached the Transport: the proxy did not pass them on",
						round, i, concurrency, handed)
				}
				// A RoundTripper that holds requests back before its
				// Transport (a semaphore) is told from a Transport that
				// holds them by the trace. None counted is no evidence:
				// a RoundTripper may send new requests without the trace.
				if asked := counted.asked.load() - (round-1)*concurrency; asked > 0 && asked < concurrency {
					t.Fatalf("round %d: only %d of %d concurrent requests reached the backend at once, though all %d were handed to the RoundTripper: "+
						"it passed only %d to an http.Transport (the others never asked one for a connection); does your RoundTripper hold requests back, "+
						"with a semaphore or a lock held during RoundTrip?",
						round, i, concurrency, concurrency, asked)
				}
				t.Fatalf("round %d: only %d of %d concurrent requests reached the backend at once, though all %d were handed to the RoundTripper: "+
					"it held %d back without opening connections for them, as a Transport does whose MaxConnsPerHost is below %d, also inside a RoundTripper of your own "+
					"(look at MaxConnsPerHost in every Transport your RoundTripper uses; 0 means no limit)",
					round, i, concurrency, concurrency, concurrency-i, concurrency)
			}
		}
		for range concurrency {
			proceed <- struct{}{}
		}
		for range concurrency {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
	return counter.load()
}

// roundTimeout bounds how long NewConns waits for a round: Timeout, but
// shorter in a test of a wrong answer that is known to stall.
var roundTimeout = Timeout

// countingTransport counts the requests handed to the RoundTripper it
// wraps and, through an httptrace.ClientTrace on their context, those
// for which an http.Transport was then asked for a connection, also
// inside a RoundTripper of the learner's own.
type countingTransport struct {
	next     http.RoundTripper
	n, asked counter
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.add()
	trace := &httptrace.ClientTrace{GetConn: func(string) { c.asked.add() }}
	return c.next.RoundTrip(r.WithContext(httptrace.WithClientTrace(r.Context(), trace)))
}

func (c *countingTransport) load() int { return c.n.load() }

// counter is a count that goroutines add to.
type counter struct{ n atomic.Int64 }

func (c *counter) add()      { c.n.Add(1) }
func (c *counter) load() int { return int(c.n.Load()) }

// connCounter counts the connections a server accepts.
type connCounter struct{ n atomic.Int64 }

func (c *connCounter) track(_ net.Conn, state http.ConnState) {
	if state == http.StateNew {
		c.n.Add(1)
	}
}

func (c *connCounter) load() int { return int(c.n.Load()) }

// get sends a GET and reads the whole answer, which must be a 200.
func get(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// CheckBackendHost checks a proxy made by newProxy(target) that sends the
// backend its own host name in the Host header, as a backend serving
// several sites (virtual hosts) or checking its name expects, while it
// still forwards the path and query and reports the client's address.
func CheckBackendHost(t *testing.T, newProxy func(target *url.URL) http.Handler) {
	back := httptest.NewServer(backend.New("A"))
	defer back.Close()
	target, err := url.Parse(back.URL)
	require.NoError(t, err)
	front := httptest.NewServer(newProxy(target))
	defer front.Close()

	for _, clientHost := range []string{"", "api.example.com"} {
		name := clientHost
		if name == "" {
			name = "proxy address"
		}
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, front.URL+"/echo?x=1", nil)
			require.NoError(t, err)
			req.Host = clientHost // empty: the proxy's own host:port, as curl would send
			resp, err := front.Client().Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, "GET /echo through the proxy")
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			var got backend.Echo
			require.NoError(t, json.Unmarshal(body, &got),
				"the answer to GET /echo?x=1 is not the JSON of the backend's /echo: the path must be forwarded (it was %q)", body)

			assert.Equal(t, target.Host, got.Host, "the backend must see its own host name in the Host header")
			assert.Equal(t, "/echo", got.Path, "the path must be forwarded")
			assert.Equal(t, "x=1", got.RawQuery, "the query must be forwarded")
			assert.Equal(t, []string{"127.0.0.1"}, got.Headers["X-Forwarded-For"],
				"the backend must still learn the client's address from X-Forwarded-For")
		})
	}
}
