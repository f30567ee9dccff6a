package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/gocourse/gateway/07-object-storage/client"
)

// ErrBodyTimeout is a PUT whose body sent no byte for Server.BodyTimeout
// while the server waited for one. It is answered 408 Request Timeout.
var ErrBodyTimeout = errors.New("the request body sent nothing for too long")

// DefaultBodyTimeout is the longest pause between two reads of a PUT's
// body. nginx's client_body_timeout has the same meaning and default.
const DefaultBodyTimeout = 60 * time.Second

// idleBody is a PUT's body with a clock that runs only while the handler
// waits in Read for the caller's next bytes. A whole upload may take as
// long as it needs (a 1 GiB object over a slow link), and time the
// handler spends sending bytes on to the data servers does not count; a
// caller that stops sending mid-way does, or it would hold its data
// server uploads, pipes and goroutines for as long as it liked.
//
// When the clock fires while a Read waits, it sets the connection's read
// deadline in the past (cut, through http.ResponseController), which
// ends that Read, and that Read, and every later one, returns
// ErrBodyTimeout.
type idleBody struct {
	r     io.ReadCloser
	after time.Duration
	cut   func() // ends the Read that waits

	mu      sync.Mutex
	timer   client.Timer
	reading bool // a Read waits: only then may expire act
	fired   bool
	ended   bool
}

// watchBody returns r's body with its idle clock, and end, to call when
// the handler is done with it. With BodyTimeout <= 0 it returns the body
// as it is.
func (s *Server) watchBody(w http.ResponseWriter, r *http.Request) (io.ReadCloser, func()) {
	if s.BodyTimeout <= 0 {
		return r.Body, func() {}
	}
	rc := http.NewResponseController(w)
	b := &idleBody{r: r.Body, after: s.BodyTimeout, cut: func() {
		// A server that cannot set deadlines (ErrNotSupported) keeps
		// waiting; net/http's own servers all can.
		rc.SetReadDeadline(time.Unix(1, 0))
	}}
	b.timer = s.AfterFunc(s.BodyTimeout, b.expire)
	b.timer.Stop() // it runs only inside Read
	return b, b.end
}

// expire is the clock's callback. time.AfterFunc may start it just before
// a Stop, when the Read it timed has returned: it acts only if a Read
// still waits, and cuts under mu, so that once Read has returned no
// deadline is set (one set then would hit the next request on the
// connection, or net/http's background read, which cancels the request's
// context).
func (b *idleBody) expire() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.reading && !b.ended {
		b.fired = true
		b.cut()
	}
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.clock(true)
	n, err := b.r.Read(p)
	if fired := b.clock(false); err != nil && fired {
		err = fmt.Errorf("%w (%v)", ErrBodyTimeout, b.after)
	}
	return n, err
}

func (b *idleBody) Close() error { return b.r.Close() }

// clock starts the clock as a Read begins and stops it as it ends,
// unless the handler is done, and reports whether it has fired.
func (b *idleBody) clock(reading bool) (fired bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reading = reading && !b.ended
	switch {
	case b.ended:
	case reading:
		b.timer.Reset(b.after)
	default:
		b.timer.Stop()
	}
	return b.fired
}

func (b *idleBody) end() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ended, b.reading = true, false
	b.timer.Stop()
}
