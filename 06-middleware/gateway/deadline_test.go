package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestRouteTimeoutCountsAgainstTheBackend: a backend that never answers,
// behind a route whose timeout passes long before the pool's
// response_header_timeout (1h). The request's context then ends with
// DeadlineExceeded, which is the backend's fault (nginx counts a timeout
// as a failure), not Canceled, which is a client that went away. After
// max_fails such timeouts passive health takes the backend out, and every
// request goes to the other one.
//
// The route's deadline passes when the hung backend has the request (see
// manualDeadline), not after a real 50 ms: with a real one, a request to
// the good backend that took longer on a loaded machine (under -race) was
// answered 504 too, and the count was {"": 1, "B": 5}.
func TestRouteTimeoutCountsAgainstTheBackend(t *testing.T) {
	release := make(chan struct{})
	var deadline atomic.Pointer[manualDeadline] // the request's being served: they go one at a time
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deadline.Load().pass() // the route's deadline passes while the backend holds the request
		select {               // answers nothing until the gateway gives up, or the test ends
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hung.Close)
	t.Cleanup(func() { close(release) }) // runs first: cleanups run last-in first-out
	good := backends(t, 2)[1]            // B
	g, _, _ := start(t, strings.NewReplacer("${X}", hung.URL, "${Y}", good.URL).Replace(`
pools:
  p:
    balancer: roundrobin
    passive: {max_fails: 2, fail_timeout: 1h}
    retry: {tries: 1}
    transport: {response_header_timeout: 1h}
    targets: ["${X}", "${Y}"]
routes:
  - path: /
    pool: p
    middleware:
      - {name: timeout, after: 1h}
`))
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := newManualDeadline()
		deadline.Store(d)
		g.ServeHTTP(w, r.WithContext(deadlineContext{r.Context(), d.done}))
	}))
	t.Cleanup(gw.Close)

	var codes []int
	for range 4 { // round robin: hung, B, hung, B
		r := send(t, http.DefaultClient, "GET", gw.URL, nil, "")
		codes = append(codes, r.code)
	}
	assert.Equal(t, []int{http.StatusGatewayTimeout, 200, http.StatusGatewayTimeout, 200}, codes,
		"the hung backend's requests time out at the route's deadline")

	count := map[string]int{}
	for range 6 {
		r := send(t, http.DefaultClient, "GET", gw.URL, nil, "")
		count[r.backend]++
	}
	assert.Equal(t, map[string]int{"B": 6}, count,
		"two timeouts (max_fails 2) take the hung backend out; reported as Success they never would")
}

// manualDeadline is a request's deadline that passes when the test calls
// pass, not when a clock says. Served under deadlineContext, a route's
// timeout layer (with a long after) sees its context end with
// DeadlineExceeded then, as if its own deadline had passed: the requests
// the test means to time out do, and no other does, however slow the
// machine.
type manualDeadline struct {
	done chan struct{}
	pass func()
}

func newManualDeadline() *manualDeadline {
	d := &manualDeadline{done: make(chan struct{})}
	d.pass = sync.OnceFunc(func() { close(d.done) })
	return d
}

// deadlineContext is a context (its values, the request's) that ends when
// done is closed, with DeadlineExceeded.
type deadlineContext struct {
	context.Context
	done chan struct{}
}

func (c deadlineContext) Done() <-chan struct{} { return c.done }

func (c deadlineContext) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// stallingBody gives its first half, then waits for ctx to end before it
// gives the rest: a client that sends its body so slowly that the
// request's deadline passes while the gateway is still reading it.
type stallingBody struct {
	ctx  context.Context
	data []byte
	half bool
}

func (b *stallingBody) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		return 0, io.EOF
	}
	if b.half {
		<-b.ctx.Done()
	}
	b.half = true
	n := copy(p, b.data[:max(1, len(b.data)/2)])
	b.data = b.data[n:]
	return n, nil
}

// TestADeadlinePassedBeforeAnyAttemptBlamesNoBackend: a request whose
// deadline (a route's timeout) passes before the pool has sent it
// anywhere, here while its body, small enough to keep for retries, is
// still being read from a slow client, is answered 504, and counts
// against no backend. Counted as a failure, it took the backend the pool
// then picked out of service for fail_timeout (max_fails 1, the default):
// a few slow clients could take out every backend of a pool.
func TestADeadlinePassedBeforeAnyAttemptBlamesNoBackend(t *testing.T) {
	srvs := backends(t, 2)
	g, gw, _ := start(t, fill(`
pools:
  p:
    balancer: roundrobin
    passive: {max_fails: 1, fail_timeout: 1h}
    targets: ["${A}", "${B}"]
routes: [{pool: p}]
`, srvs))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	body := "order=1&item=2"
	req := httptest.NewRequestWithContext(ctx, "POST", "/echo", &stallingBody{ctx: ctx, data: []byte(body)})
	req.ContentLength = int64(len(body))
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusGatewayTimeout, rec.Code, rec.Body.String())

	count := map[string]int{}
	for range 4 {
		count[send(t, http.DefaultClient, "GET", gw.URL+"/", nil, "").backend]++
	}
	assert.Equal(t, map[string]int{"A": 2, "B": 2}, count, "no backend was taken out for a slow client")
}
