package client

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// quorumGrace is how long an upload beyond the write quorum may go
// without progress before the write cuts it short and commits without
// it.
//
// A write needs W copies; it asks for R so that one more server can be
// lost before repair has to act. Once W copies are made the write can
// commit, and the uploads still under way are worth waiting for only
// while they are getting somewhere. Cut at once, a large upload to a
// healthy server that is merely slower than its peers would be lost
// when nearly done, and repair would have to copy the whole blob again.
// Waited for until each ends, an upload to a data server that hangs
// (takes the connection, then no more bytes, and never answers) ends
// only when its stall clock fires (Options.StallTimeout, 30 s by
// default): the caller would wait that long for a copy the write does
// not need.
//
// So once W copies are made, an upload still under way is cut if it
// makes no progress for a grace: its transport takes no more of its
// body, which is the stall clock's measure of progress too (watch). An
// upload still taking bytes goes on (its stall clock still guards it);
// one that took its whole body and waits for its server's answer makes
// no progress by this measure, but the W servers that answered have
// already done the same work (write the end, sync, rename), so a
// healthy one answers soon. The grace is a second, as doomedGrace is:
// as long as NewTransport lets a data server take to answer an upload's
// headers (ExpectContinueTimeout), and 30 times shorter than the stall
// clock. Too short a grace costs a needless copy by repair, never data:
// the W copies are durable before the commit. Checked once a grace, an
// upload is cut after one to two graces without progress.
//
// An upload cut this way is not a failure of its server: it is not
// reported, nor named as a cause, and Put tries no further server for
// it. The write commits with the W copies or more it has; the metadata
// server's repair makes up the rest to R later (meta.RepairRound), and
// adopts the copy if the server stored it all the same.
const quorumGrace = time.Second

// errBeyondQuorum is the cause of an upload cut short by quorumGrace.
var errBeyondQuorum = errors.New("cut short: W copies were made and it made no progress")

// laggards cuts short the uploads of one round that make no progress
// for quorumGrace once the write has W copies (see quorumGrace).
type laggards struct {
	c       *Client
	uploads []*lagging

	mu    sync.Mutex
	timer Timer // nil until started
	over  bool  // stopped: fire no more
}

// lagging is one upload that laggards watches.
type lagging struct {
	ctx   context.Context
	cut   context.CancelCauseFunc
	moved atomic.Int64 // Reads of its body that returned bytes
	seen  int64        // moved at the last check; under laggards.mu
	ended atomic.Bool
}

// newLaggards watches n uploads under ctx; upload i runs under
// uploads[i].ctx and reads its body through body(i, r).
func newLaggards(c *Client, ctx context.Context, n int) *laggards {
	l := &laggards{c: c}
	for range n {
		u := &lagging{}
		u.ctx, u.cut = context.WithCancelCause(ctx)
		l.uploads = append(l.uploads, u)
	}
	return l
}

// body is r, counting Reads that return bytes as upload i's progress. It
// closes r, if r can be closed, so that a transport's Close reaches a
// pipe (see sent).
func (l *laggards) body(i int, r io.Reader) io.Reader {
	return &moving{r, &l.uploads[i].moved}
}

// ended says upload i has ended, with err, and whether err is only its
// cut: then it says nothing of its server. (net/http may fail it with
// the context's cause, as it does an upload awaiting its answer, or
// with context.Canceled.)
func (l *laggards) ended(i int, err error) (cut bool) {
	u := l.uploads[i]
	u.ended.Store(true)
	cut = err != nil && context.Cause(u.ctx) == errBeyondQuorum &&
		(errors.Is(err, errBeyondQuorum) || errors.Is(err, context.Canceled))
	u.cut(nil)
	return cut
}

// start starts the grace, once: call it when the write has W copies.
// With no upload left under way there is nothing to watch.
func (l *laggards) start() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.timer != nil || l.over || !l.note() {
		return
	}
	l.timer = l.c.opt.AfterFunc(quorumGrace, l.check)
}

// note records each upload's progress so far, and says whether any is
// still under way.
func (l *laggards) note() (any bool) {
	for _, u := range l.uploads {
		if !u.ended.Load() {
			u.seen = u.moved.Load()
			any = true
		}
	}
	return any
}

// check is the grace's end: it cuts every upload under way that made no
// progress since the last check, and watches the others for one more
// grace.
func (l *laggards) check() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.over {
		return
	}
	spared := false
	for _, u := range l.uploads {
		switch {
		case u.ended.Load():
		case u.moved.Load() == u.seen:
			u.cut(errBeyondQuorum)
		default:
			u.seen = u.moved.Load()
			spared = true
		}
	}
	if spared {
		l.timer.Reset(quorumGrace)
	}
}

// stop stops the grace; call it once every upload has ended.
func (l *laggards) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.over = true
	if l.timer != nil {
		l.timer.Stop()
	}
	for _, u := range l.uploads {
		u.cut(nil)
	}
}

// moving counts the Reads of an upload's body that return bytes.
type moving struct {
	r     io.Reader
	moved *atomic.Int64
}

func (m *moving) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if n > 0 {
		m.moved.Add(1)
	}
	return n, err
}

func (m *moving) Close() error {
	if c, ok := m.r.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
