package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// watch guards an upload against a data server that stops reading its
// body. Nothing in net/http does: a write to a peer that does not read
// blocks once the socket buffers are full, for as long as the request's
// context lives, and an API server's request context lives as long as
// its client waits. watch returns a context that is cancelled once the
// body has given no byte for StallTimeout, the body to send (which
// restarts that clock on every read), and stop, to call with the
// upload's error when it ends: it stops the clock and, if the clock
// fired, says so with ErrStalled.
//
// Waiting for the body's next bytes counts as a stall too: for
// PutStream the body is a pipe from the caller's own upload, so a caller
// that sends nothing for StallTimeout stalls it as well.
func (c *Client) watch(ctx context.Context, addr string, body io.Reader) (context.Context, io.Reader, func(error) error) {
	if c.opt.StallTimeout < 0 || body == nil {
		return ctx, body, func(err error) error { return err }
	}
	ctx, cancel := context.WithCancelCause(ctx)
	stalled := fmt.Errorf("%w: %s, for %v", ErrStalled, addr, c.opt.StallTimeout)
	t := c.opt.AfterFunc(c.opt.StallTimeout, func() { cancel(stalled) })
	stop := func(err error) error {
		t.Stop()
		fired := errors.Is(context.Cause(ctx), ErrStalled)
		cancel(nil)
		if err != nil && fired {
			return stalled
		}
		return err
	}
	return ctx, &progress{r: body, timer: t, after: c.opt.StallTimeout}, stop
}

// progress is an upload's body that restarts its stall clock whenever it
// gives bytes. It closes what it reads from, if that can be closed, so
// that the HTTP transport's Close reaches a pipe.
type progress struct {
	r     io.Reader
	timer Timer
	after time.Duration
}

func (p *progress) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.timer.Reset(p.after)
	}
	return n, err
}

func (p *progress) Close() error {
	if c, ok := p.r.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
