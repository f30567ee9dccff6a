package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// watch guards an upload against a data server that stops reading its
// body. Nothing in net/http does: a write to a peer that does not read
// blocks once the socket buffers are full, for as long as the request's
// context lives, and an API server's request context lives as long as
// its client waits. watch returns a context that is cancelled once the
// data server has taken no byte for StallTimeout, the body to send, and
// stop, to call with the upload's error when it ends: it stops the clock
// and, if the clock fired, says so with ErrStalled.
//
// The clock runs for the whole upload (dialling, sending, waiting for
// the answer, which includes the data server's fsync) except while the
// transport waits in the body's Read, and every Read that returns starts
// it again from zero. For PutStream the body is a pipe from the caller's
// own upload, and a caller that pauses is not the data server's fault;
// the API server bounds such a pause itself (api.Server.BodyTimeout).
func (c *Client) watch(ctx context.Context, addr string, body io.Reader) (context.Context, io.Reader, func(error) error) {
	if c.opt.StallTimeout < 0 || body == nil {
		return ctx, body, func(err error) error { return err }
	}
	ctx, cancel := context.WithCancelCause(ctx)
	stalled := fmt.Errorf("%w: %s, for %v", ErrStalled, addr, c.opt.StallTimeout)
	p := &progress{r: body, timer: c.opt.AfterFunc(c.opt.StallTimeout, func() { cancel(stalled) }), after: c.opt.StallTimeout}
	stop := func(err error) error {
		p.end()
		fired := errors.Is(context.Cause(ctx), ErrStalled)
		cancel(nil)
		if err != nil && fired {
			return stalled
		}
		return err
	}
	return ctx, p, stop
}

// progress is an upload's body with its stall clock: stopped while the
// transport waits in Read for bytes to send, started again (from zero)
// when Read returns them. It closes what it reads from, if that can be
// closed, so that the HTTP transport's Close reaches a pipe.
type progress struct {
	r     io.Reader
	after time.Duration

	mu    sync.Mutex // the transport may Read while stop ends the clock
	timer Timer
	ended bool
}

func (p *progress) Read(b []byte) (int, error) {
	p.clock(false)
	n, err := p.r.Read(b)
	p.clock(true)
	return n, err
}

// clock starts or stops the stall clock, unless the upload has ended: a
// Read still running when it ends must not start the clock again.
func (p *progress) clock(run bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.ended:
	case run:
		p.timer.Reset(p.after)
	default:
		p.timer.Stop()
	}
}

func (p *progress) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ended = true
	p.timer.Stop()
}

func (p *progress) Close() error {
	if c, ok := p.r.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
