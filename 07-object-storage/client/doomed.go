package client

import (
	"sync"
	"time"
)

// doomedGrace is how long a write that can no longer make W copies (a
// doomed write) waits for its uploads still under way to end on their
// own, before it cancels them.
//
// Why wait at all: the write's error says why it failed, from the
// uploads that failed on their own, and which of them have failed by the
// time the write is doomed is the scheduler's whim. Beside a full server
// whose 507 came first, a server that is down but whose dial had not
// failed yet would be cancelled, would say only "context canceled", and
// would leave room as the only cause: the write would be meta.ErrNoRoom
// (a 507) or not (a 503) by timing. Why not wait until each ends: an
// upload to a data server that hangs (takes the connection, then no more
// bytes, and never answers) ends only when its stall clock fires
// (Options.StallTimeout, 30 s by default), and the caller would wait
// that long to hear an error already known.
//
// The failures worth waiting for come quickly: a data server refuses an
// upload (507, 413) in answer to its headers, before any byte of the
// body (Expect: 100-continue), and a dial to a server that is down is
// refused at once. A second is ample for both; it is also how long
// NewTransport lets a data server take to answer the headers before it
// sends the body anyway (ExpectContinueTimeout). An upload cut short
// after it says nothing about its server, and is not a cause (causeOf,
// replicate).
const doomedGrace = time.Second

// graceTimer cancels the uploads of a doomed write that are still under
// way doomedGrace after the doom.
type graceTimer struct {
	once  sync.Once
	timer Timer
}

// start starts the grace, once: call it from each upload that fails
// once the write is doomed. cancel cuts the uploads short.
func (g *graceTimer) start(c *Client, cancel func()) {
	g.once.Do(func() { g.timer = c.opt.AfterFunc(doomedGrace, cancel) })
}

// stop stops the grace; call it once every upload has ended.
func (g *graceTimer) stop() {
	if g.timer != nil {
		g.timer.Stop()
	}
}
