package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// watch guards one exchange with a data server, an upload or a read,
// against a server that stops moving bytes. Nothing in net/http does: a
// write to a peer that does not read blocks once the socket buffers are
// full, and a read from a peer that sends nothing blocks, each for as
// long as the request's context lives; an API server's request context
// lives as long as its client waits. A watch's context (ctx, for the
// request) is cancelled once its stall clock has run for
// Options.StallTimeout without being started again, and end stops the
// clock and, if it fired, says so with ErrStalled.
//
// The clock runs from the start: dialling, sending the request, waiting
// for the answer's headers (for an upload, that includes the data
// server's fsync). It measures only the data server: the time the
// exchange waits on its own side does not count. So an upload's body
// (sending) stops the clock while the transport waits for the bytes to
// send, and an answer's body (receiving) runs it only while a Read waits
// for the data server's bytes. Either way, every Read restarts it from
// zero.
type watch struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	stalled error // what the exchange fails with once the clock fired
	after   time.Duration

	mu    sync.Mutex // a Read may start or stop the clock while end stops it
	timer Timer      // nil when StallTimeout is -1 (off)
	ended bool
}

func (c *Client) watch(ctx context.Context, addr string) *watch {
	ctx, cancel := context.WithCancelCause(ctx)
	w := &watch{ctx: ctx, cancel: cancel, after: c.opt.StallTimeout,
		stalled: fmt.Errorf("%w: %s, for %v", ErrStalled, addr, c.opt.StallTimeout)}
	if w.after >= 0 {
		w.timer = c.opt.AfterFunc(w.after, func() { cancel(w.stalled) })
	}
	return w
}

// clock starts the stall clock from zero or stops it, unless the
// exchange has ended: a Read still running then must not start it again.
func (w *watch) clock(run bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.ended || w.timer == nil:
	case run:
		w.timer.Reset(w.after)
	default:
		w.timer.Stop()
	}
}

// fired reports whether the clock ran out.
func (w *watch) fired() bool { return errors.Is(context.Cause(w.ctx), ErrStalled) }

// end stops the clock and releases the context; call it, with the
// exchange's error, when the exchange is over. A failure after the clock
// fired is the stall (which names the data server), not the transport's
// "context canceled". Calling end again does no harm.
func (w *watch) end(err error) error {
	w.mu.Lock()
	w.ended = true
	if w.timer != nil {
		w.timer.Stop()
	}
	w.mu.Unlock()
	fired := w.fired()
	w.cancel(nil)
	if err != nil && fired {
		return w.stalled
	}
	return err
}

// sending is an upload's body for the request. For PutStream the body is
// a pipe from the caller's own upload, and a caller that pauses is not
// the data server's fault; the API server bounds such a pause itself
// (api.Server.BodyTimeout).
func (w *watch) sending(body io.Reader) io.Reader {
	if body == nil {
		return nil
	}
	return &sent{w, body}
}

// receiving is the body of an answer whose headers have arrived. Between
// Reads the wait is the reader's: a stream that hands a chunk out
// to a slow API client is not waiting for the data server. Closing it
// ends the watch.
func (w *watch) receiving(body io.ReadCloser) io.ReadCloser {
	w.clock(false)
	return &received{w, body}
}

// sent stops the clock while the transport waits in Read, and starts it
// again when Read returns bytes to send. It closes what it reads from,
// if that can be closed, so that the transport's Close reaches a pipe.
type sent struct {
	w *watch
	r io.Reader
}

func (s *sent) Read(b []byte) (int, error) {
	s.w.clock(false)
	n, err := s.r.Read(b)
	s.w.clock(true)
	return n, err
}

func (s *sent) Close() error {
	if c, ok := s.r.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// received runs the clock only while Read waits for the data server.
type received struct {
	w *watch
	r io.ReadCloser
}

func (r *received) Read(b []byte) (int, error) {
	r.w.clock(true)
	n, err := r.r.Read(b)
	r.w.clock(false)
	if err != nil && err != io.EOF && r.w.fired() {
		err = r.w.stalled
	}
	return n, err
}

func (r *received) Close() error {
	err := r.r.Close()
	r.w.end(nil)
	return err
}
