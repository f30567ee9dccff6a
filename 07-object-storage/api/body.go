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
// When the clock fires it sets the connection's read deadline in the
// past, which ends the Read that waits (http.ResponseController), and
// that Read, and every later one, returns ErrBodyTimeout.
type idleBody struct {
	r     io.ReadCloser
	after time.Duration

	mu    sync.Mutex
	timer client.Timer
	fired bool
	ended bool
}

// watchBody returns r's body with its idle clock, and end, to call when
// the handler is done with it. With BodyTimeout < 0 it returns the body
// as it is.
func (s *Server) watchBody(w http.ResponseWriter, r *http.Request) (io.ReadCloser, func()) {
	if s.BodyTimeout < 0 {
		return r.Body, func() {}
	}
	b := &idleBody{r: r.Body, after: s.BodyTimeout}
	rc := http.NewResponseController(w)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.timer = s.AfterFunc(s.BodyTimeout, func() {
		b.mu.Lock()
		b.fired = !b.ended
		b.mu.Unlock()
		// A server that cannot set deadlines (ErrNotSupported) keeps
		// waiting; net/http's own servers all can.
		rc.SetReadDeadline(time.Unix(1, 0))
	})
	b.timer.Stop() // it runs only inside Read
	return b, b.end
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.clock(true)
	n, err := b.r.Read(p)
	b.clock(false)
	if err != nil && b.timedOut() {
		err = fmt.Errorf("%w (%v)", ErrBodyTimeout, b.after)
	}
	return n, err
}

func (b *idleBody) Close() error { return b.r.Close() }

func (b *idleBody) clock(run bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.ended:
	case run:
		b.timer.Reset(b.after)
	default:
		b.timer.Stop()
	}
}

func (b *idleBody) timedOut() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.fired
}

func (b *idleBody) end() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ended = true
	b.timer.Stop()
}
