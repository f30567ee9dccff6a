package client

import (
	"errors"
	"sync"
	"time"

	"github.com/gocourse/gateway/07-object-storage/meta"
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
// body (Expect: 100-continue), and a dial to a data server that is
// stopped, on a host that is up, is refused at once (a host that is down
// or cut off answers nothing: that dial is cut short, see notOnlyRoom).
// A second is ample for both; it is also how long
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

// notOnlyRoom is the cause a doomed write reports (see reported) when
// every upload that failed on its own was refused for want of room, but
// the grace cut one short: its server never answered (it hangs, or its
// dial had not failed yet), so room is not the whole story, and the
// write must not be meta.ErrNoRoom (a 507 at the API) but a 503, as it
// was when the write waited for that upload's stall clock. It keeps the
// refusal's words, and does not unwrap to it.
type notOnlyRoom struct{ room error }

func (e notOnlyRoom) Error() string {
	return e.room.Error() + " (beside an upload cut short unanswered)"
}

// beside returns cause, unless it blames room and some upload was cut
// short (cut): then notOnlyRoom.
func beside(cause error, cut bool) error {
	if cut && errors.Is(cause, meta.ErrNoRoom) {
		return notOnlyRoom{cause}
	}
	return cause
}
