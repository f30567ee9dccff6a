package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deadlineCtx is a context whose deadline passes when the test says so:
// Err is context.DeadlineExceeded once pass has run, as a route timeout's.
type deadlineCtx struct {
	context.Context
	done chan struct{}
}

func newDeadlineCtx() *deadlineCtx {
	return &deadlineCtx{Context: context.Background(), done: make(chan struct{})}
}

func (c *deadlineCtx) pass()                 { close(c.done) }
func (c *deadlineCtx) Done() <-chan struct{} { return c.done }
func (c *deadlineCtx) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
func (c *deadlineCtx) Deadline() (time.Time, bool) { return time.Time{}, false }

// slowUpload is a client sending a body steadily but slowly: its first
// bytes, then, once the test has seen the gateway wait for more
// (waiting), more bytes only after the request's deadline passed.
type slowUpload struct {
	ctx     context.Context
	parts   int
	waiting chan struct{}
}

func (b *slowUpload) Read(p []byte) (int, error) {
	b.parts++
	if b.parts == 2 {
		close(b.waiting)
		<-b.ctx.Done()
	}
	return copy(p, "part of a large upload "), nil
}

// TestASlowUploadPastTheDeadlineBlamesNoBackend: a streamed body (too
// large, or of unknown length, to keep) still arriving from a slow client
// when the route's deadline passes is the client's slowness, not the
// backend's, which cannot answer a request it has not had whole. The
// client gets its 504, and no backend is counted as failed. Counted,
// with max_fails 1 (the default), each slow uploader took a healthy
// backend out for fail_timeout, as a slow client of a kept body did
// before (TestADeadlinePassedBeforeAnyAttemptBlamesNoBackend).
func TestASlowUploadPastTheDeadlineBlamesNoBackend(t *testing.T) {
	srvs := backends(t, 2)
	g, gw, _ := start(t, fill(`
pools:
  p:
    balancer: roundrobin
    passive: {max_fails: 1, fail_timeout: 1h}
    retry: {tries: 1}
    targets: ["${A}", "${B}"]
routes: [{pool: p}]
`, srvs))
	ctx := newDeadlineCtx()
	body := &slowUpload{ctx: ctx, waiting: make(chan struct{})}
	req := httptest.NewRequestWithContext(ctx, "PUT", "/echo", body)
	req.ContentLength = -1 // of unknown length: streamed, not kept
	rec := httptest.NewRecorder()
	served := make(chan struct{})
	go func() { g.ServeHTTP(rec, req); close(served) }()
	receive(t, body.waiting, "the gateway to wait for more of the body")
	ctx.pass()
	receive(t, served, "the request to end")
	assert.Equal(t, http.StatusGatewayTimeout, rec.Code, rec.Body.String())

	count := map[string]int{}
	for range 4 {
		count[send(t, http.DefaultClient, "GET", gw.URL+"/", nil, "").backend]++
	}
	assert.Equal(t, map[string]int{"A": 2, "B": 2}, count, "no backend was taken out for a slow client")
}

// Only a Read that was waiting for the client as the deadline passed
// makes the body late. One that began after it (the transport reading on
// between its last write and the cancellation's close) says nothing about
// the client: a backend that held the request up to its deadline is still
// blamed for it.
func TestAReadBegunAfterTheDeadlineIsNotLate(t *testing.T) {
	ctx := newDeadlineCtx()
	ctx.pass()
	b := &onceBody{rc: io.NopCloser(strings.NewReader("more of the body")), ctx: ctx}
	_, err := b.Read(make([]byte, 4))
	require.NoError(t, err)
	assert.False(t, b.late())

	var nilBody *onceBody // no streamed body: never late
	assert.False(t, nilBody.late())
}
