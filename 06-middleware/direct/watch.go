package direct

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// watch sends req with rt, an http.Transport (Fallback), and bounds each
// wait for more of the response's body by timeout: ResponseBodyTimeout
// for the requests the direct path leaves to Fallback. http.Transport
// has a bound for the header only, and no hook on its connections' reads,
// so the clock here is a timer that cancels the request's context when
// it runs out; it runs only while a Read of the body waits, as the
// direct path's deadline does, and a body read to its end, or closed,
// stops it for good.
func watch(rt http.RoundTripper, req *http.Request, timeout time.Duration, afterFunc func(time.Duration, func()) stopper) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	resp, err := rt.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel(nil)
		return nil, err
	}
	if resp.Body == nil || resp.Body == http.NoBody {
		cancel(nil)
		return resp, nil
	}
	if rwc, ok := resp.Body.(io.ReadWriteCloser); ok && resp.StatusCode == http.StatusSwitchingProtocols {
		// A tunnel (an Upgrade the backend accepted), which ends with
		// its body's Close; only then may its context end. Not the
		// request's Upgrade header: a backend may decline, and answer
		// with a body like any other.
		resp.Body = &tunnel{ReadWriteCloser: rwc, cancel: cancel}
		return resp, nil
	}
	w := &watched{body: resp.Body, ctx: ctx, cancel: cancel, timeout: timeout}
	// Stopped until the first Read: until then the proxy is busy with
	// its client, not waiting for the backend.
	w.timer = afterFunc(timeout, func() { cancel(ErrBodyTimeout) })
	w.timer.Stop()
	resp.Body = w
	return resp, nil
}

// stopper is a *time.Timer, or a test's stand-in.
type stopper interface {
	Reset(time.Duration) bool
	Stop() bool
}

// afterFunc is time.AfterFunc for Transport.afterFunc.
func afterFunc(d time.Duration, f func()) stopper { return time.AfterFunc(d, f) }

// watched is a Fallback response's body under ResponseBodyTimeout.
type watched struct {
	body    io.ReadCloser
	ctx     context.Context
	cancel  context.CancelCauseFunc
	timeout time.Duration

	mu     sync.Mutex // Close may run while a Read waits
	timer  stopper
	closed bool
}

func (w *watched) Read(p []byte) (int, error) {
	w.clock(true)
	n, err := w.body.Read(p)
	w.clock(false)
	if err != nil && err != io.EOF && errors.Is(context.Cause(w.ctx), ErrBodyTimeout) {
		// Not at io.EOF: a timer that ran out as the last bytes came
		// in did not cut the body short.
		err = ErrBodyTimeout
	}
	return n, err
}

// clock starts the timer afresh or stops it, unless the body is closed.
func (w *watched) clock(run bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.closed:
	case run:
		w.timer.Reset(w.timeout)
	default:
		w.timer.Stop()
	}
}

func (w *watched) Close() error {
	w.mu.Lock()
	w.closed = true
	w.timer.Stop()
	w.mu.Unlock()
	err := w.body.Close()
	w.cancel(nil)
	return err
}

// tunnel is the body of a 101 answer, the upgraded connection, unwatched:
// still the io.ReadWriteCloser that httputil.ReverseProxy joins to its
// client's, and the end of the context watch derived once it is closed.
type tunnel struct {
	io.ReadWriteCloser
	cancel context.CancelCauseFunc
}

func (t *tunnel) Close() error {
	err := t.ReadWriteCloser.Close()
	t.cancel(nil)
	return err
}
