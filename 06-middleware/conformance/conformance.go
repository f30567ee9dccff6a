// Package conformance checks that a middleware behaves as a layer of the
// onion must, in both implementations, the way nettest.TestConn checks a
// net.Conn. Every middleware of the course passes it, and so must a
// learner's (that is how the chapter's exercises are checked):
//
//	func TestMine(t *testing.T) {
//		conformance.Test(t, conformance.Subject{New: func() onion.Middleware { return Mine }})
//	}
package conformance

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/gocourse/gateway/06-middleware/onion"
)

// Subject is a middleware to check.
type Subject struct {
	// New returns a fresh instance of the middleware: each check starts
	// from a clean state (an empty rate-limit table, say).
	New func() onion.Middleware
	// Request returns a request the middleware lets through (it may add
	// credentials). Nil means GET /.
	Request func() *http.Request
}

// Status, header and body the handler at the centre answers with: a
// middleware that lets a request through must not change them.
const (
	wantStatus = http.StatusTeapot
	wantBody   = "short and stout\n"
	headerName = "X-Conformance"
)

// centre is the handler at the centre of the onion: it counts its calls
// and answers with wantStatus. Its fields other than mu say what else it
// does, for the checks that need it.
type centre struct {
	// early: send a 103 Early Hints with a Link field first.
	early bool
	// hijack: take the connection over instead of answering.
	hijack bool
	// client, if set, is the client's end, read when the handler flushes.
	client *client

	mu        sync.Mutex
	calls     int
	flushed   error
	atFlush   string // what the client had received when the handler flushed
	hijackErr error
}

func (c *centre) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	if c.hijack {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		c.mu.Lock()
		c.hijackErr = err
		c.mu.Unlock()
		return
	}
	if c.early {
		w.Header().Set("Link", earlyLink)
		w.WriteHeader(http.StatusEarlyHints)
	}
	w.Header().Set(headerName, "yes")
	w.WriteHeader(wantStatus)
	io.WriteString(w, wantBody)
	err := http.NewResponseController(w).Flush()
	c.mu.Lock()
	c.flushed = err
	if c.client != nil {
		c.atFlush = c.client.Body.String()
	}
	c.mu.Unlock()
}

// earlyLink is the Link field of the centre's 103 Early Hints.
const earlyLink = "</style.css>; rel=preload; as=style"

// client is the client's end of a response: an httptest.ResponseRecorder
// that also keeps what a recorder cannot. It counts the final WriteHeader
// calls that reach it (a real server logs "superfluous
// response.WriteHeader call" for each after the first and ignores it),
// keeps each informational (1xx) response apart (a recorder would take
// the first for the final one), and can be hijacked, as a server's
// writer can.
type client struct {
	*httptest.ResponseRecorder
	finals   int
	early    []int    // the 1xx codes sent, in order
	links    []string // the Link field sent with each
	hijacked bool
}

func newClient() *client { return &client{ResponseRecorder: httptest.NewRecorder()} }

func (c *client) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		c.early = append(c.early, code)
		c.links = append(c.links, c.Header().Get("Link"))
		return
	}
	c.finals++
	c.ResponseRecorder.WriteHeader(code)
}

func (c *client) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c.hijacked = true
	conn, other := net.Pipe()
	other.Close()
	return conn, bufio.NewReadWriter(bufio.NewReader(conn), bufio.NewWriter(conn)), nil
}

// onions returns the middleware m around h in both implementations.
func onions(m onion.Middleware, h http.Handler) map[string]http.Handler {
	r := onion.NewRouter()
	r.Handle("/", onion.FromMiddleware(m), onion.FromHandler(h))
	return map[string]http.Handler{"chained": onion.Chain{m}.Then(h), "slice": r}
}

// A check runs one property of s in one implementation.
type check struct {
	name string
	run  func(s Subject, impl string) error
}

var checks = []check{
	{"CallsNextOnce", callsNextOnce},
	{"PreservesResponse", preservesResponse},
	{"LetsTheHandlerFlush", letsTheHandlerFlush},
	{"WritesTheHeaderOnce", writesTheHeaderOnce},
	{"PassesOnEarlyHints", passesOnEarlyHints},
	{"LetsTheHandlerHijack", letsTheHandlerHijack},
	{"Concurrent", concurrent},
	{"SameInBoth", sameInBoth},
}

var impls = []string{"chained", "slice"}

// Test runs every check on s, in each implementation, as subtests named
// like chained/CallsNextOnce.
func Test(t *testing.T, s Subject) {
	t.Helper()
	for _, impl := range impls {
		t.Run(impl, func(t *testing.T) {
			for _, c := range checks {
				t.Run(c.name, func(t *testing.T) {
					if err := run(c, s, impl); err != nil {
						t.Error(err)
					}
				})
			}
		})
	}
}

// Check runs every check on s and returns what failed, each error
// prefixed with the implementation and the check's name.
func Check(s Subject) []error {
	var errs []error
	for _, impl := range impls {
		for _, c := range checks {
			if err := run(c, s, impl); err != nil {
				errs = append(errs, fmt.Errorf("%s/%s: %w", impl, c.name, err))
			}
		}
	}
	return errs
}

// run runs c, turning a panic into an error.
func run(c check, s Subject, impl string) (err error) {
	if s.Request == nil {
		s.Request = func() *http.Request { return httptest.NewRequest("GET", "/", nil) }
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the middleware panicked: %v", p)
		}
	}()
	return c.run(s, impl)
}

func serve(s Subject, impl string, c *centre) *client {
	rec := newClient()
	if c.client == nil {
		c.client = rec
	}
	onions(s.New(), c)[impl].ServeHTTP(rec, s.Request())
	return rec
}

func callsNextOnce(s Subject, impl string) error {
	c := &centre{}
	serve(s, impl, c)
	switch {
	case c.calls == 0:
		return errors.New("the request never reached the handler: the middleware must call next.ServeHTTP for a request it lets through")
	case c.calls > 1:
		return fmt.Errorf("the handler ran %d times for one request: call next.ServeHTTP exactly once", c.calls)
	}
	return nil
}

func preservesResponse(s Subject, impl string) error {
	rec := serve(s, impl, &centre{})
	if rec.Code != wantStatus {
		return fmt.Errorf("the client got status %d, the handler sent %d: a wrapped WriteHeader must pass the code on, and nothing may write before the handler", rec.Code, wantStatus)
	}
	if got := rec.Body.String(); got != wantBody {
		return fmt.Errorf("the client got body %q, the handler sent %q: a wrapped Write must pass every byte on", got, wantBody)
	}
	// The fields the status went out with, as a server sends them: the
	// recorder's live map would also show fields added after WriteHeader.
	if rec.Result().Header.Get(headerName) != "yes" {
		return fmt.Errorf("the handler's header %s did not reach the client: a wrapper's Header() must return the underlying header map", headerName)
	}
	return nil
}

func letsTheHandlerFlush(s Subject, impl string) error {
	c := &centre{}
	rec := serve(s, impl, c)
	if c.flushed != nil || !rec.Flushed {
		return fmt.Errorf("the handler could not flush (%v): a type that wraps the ResponseWriter needs an Unwrap() http.ResponseWriter method, "+
			"or streams and server-sent events stall behind it", c.flushed)
	}
	if c.atFlush != wantBody {
		return fmt.Errorf("when the handler flushed, the client had received %q of %q: the middleware holds the response back "+
			"(buffers it), so streams and server-sent events stall behind it", c.atFlush, wantBody)
	}
	return nil
}

func writesTheHeaderOnce(s Subject, impl string) error {
	rec := serve(s, impl, &centre{})
	if rec.finals > 1 {
		return fmt.Errorf("the handler called WriteHeader once, the client's writer got %d calls: a server logs "+
			"\"superfluous response.WriteHeader call\" for each extra one (does a wrapper's Write call WriteHeader(200) "+
			"even after the handler's WriteHeader?)", rec.finals)
	}
	return nil
}

func passesOnEarlyHints(s Subject, impl string) error {
	rec := serve(s, impl, &centre{early: true})
	if len(rec.early) != 1 || rec.early[0] != http.StatusEarlyHints || rec.links[0] != earlyLink {
		return fmt.Errorf("the handler sent a 103 Early Hints with Link %q; the client got informational responses %v with Link fields %q: "+
			"a wrapped WriteHeader must pass a 1xx on, as it is, and then the final status", earlyLink, rec.early, rec.links)
	}
	if rec.Code != wantStatus || rec.Body.String() != wantBody {
		return fmt.Errorf("after a 103 Early Hints, the client got %d %q, the handler sent %d %q: a 1xx is not the final "+
			"status, so a wrapper must not take it for the response's status nor ignore the WriteHeader that follows it",
			rec.Code, rec.Body.String(), wantStatus, wantBody)
	}
	return nil
}

func letsTheHandlerHijack(s Subject, impl string) error {
	c := &centre{hijack: true}
	rec := serve(s, impl, c)
	if c.hijackErr != nil || !rec.hijacked {
		return fmt.Errorf("the handler could not take the connection over (%v): a type that wraps the ResponseWriter needs an "+
			"Unwrap() http.ResponseWriter method (a Flush method of its own is not enough), or WebSockets fail behind it", c.hijackErr)
	}
	if rec.finals > 0 || rec.Body.Len() > 0 {
		return fmt.Errorf("after the handler took the connection over, the middleware still wrote a status %d and %q to the "+
			"writer: nothing may be written once the connection is hijacked", rec.Code, rec.Body.String())
	}
	return nil
}

func concurrent(s Subject, impl string) error {
	c := &centre{}
	h := onions(s.New(), c)[impl]
	const n = 32
	codes := make([]int, n)
	panics := make([]any, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, s.Request())
			codes[i] = rec.Code
		})
	}
	wg.Wait()
	for i, code := range codes {
		if panics[i] != nil {
			return fmt.Errorf("concurrent request %d panicked: %v", i, panics[i])
		}
		if code != wantStatus {
			return fmt.Errorf("concurrent request %d got status %d, want %d", i, code, wantStatus)
		}
	}
	if c.calls != n {
		return fmt.Errorf("%d concurrent requests reached the handler %d times", n, c.calls)
	}
	return nil
}

// sameInBoth compares this implementation's answer with the other's.
func sameInBoth(s Subject, impl string) error {
	got := map[string]string{}
	for _, i := range impls {
		rec := serve(s, i, &centre{})
		got[i] = fmt.Sprintf("%d %q", rec.Code, rec.Body.String())
	}
	if got["chained"] != got["slice"] {
		return fmt.Errorf("the two onions answered differently: chained %s, slice %s", got["chained"], got["slice"])
	}
	return nil
}
