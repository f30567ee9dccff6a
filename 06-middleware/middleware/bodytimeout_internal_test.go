package middleware

import (
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

type fakeBodyTimer struct{ running atomic.Bool }

func (t *fakeBodyTimer) Reset(time.Duration) bool { t.running.Store(true); return true }
func (t *fakeBodyTimer) Stop() bool               { t.running.Store(false); return true }

// stepBodyReader says on waiting when a Read starts, then gives what the
// test sends on next (EOF once next is closed).
type stepBodyReader struct {
	waiting chan struct{}
	next    chan []byte
}

func (r *stepBodyReader) Read(b []byte) (int, error) {
	r.waiting <- struct{}{}
	p, ok := <-r.next
	if !ok {
		return 0, io.EOF
	}
	return copy(b, p), nil
}

// The body clock runs only while a Read waits for the caller's bytes:
// time the handler spends elsewhere (sending the bytes on to slow data
// servers) is not the caller's pause. A Read that ends after the handler
// is done starts nothing.
func TestBodyClockRunsOnlyInRead(t *testing.T) {
	src := &stepBodyReader{waiting: make(chan struct{}), next: make(chan []byte)}
	clock := &fakeBodyTimer{}
	b := &idleBody{r: io.NopCloser(src), after: time.Minute, timer: clock}
	n := make(chan int)
	read := func() {
		k, _ := b.Read(make([]byte, 8))
		n <- k
	}

	go read()
	<-src.waiting
	assert.True(t, clock.running.Load(), "waiting for the caller")
	src.next <- []byte("abc")
	assert.Equal(t, 3, <-n)
	assert.False(t, clock.running.Load(), "between reads")

	go read()
	<-src.waiting
	b.end()
	close(src.next)
	<-n
	assert.False(t, clock.running.Load(), "after the end")
}

// A clock that fires while a Read waits cuts it, and that Read (and any
// later one) says so with ErrBodyTimeout, which the layer answers with 408.
func TestAFiredBodyClockIsErrBodyTimeout(t *testing.T) {
	src := &stepBodyReader{waiting: make(chan struct{}), next: make(chan []byte)}
	cut := errors.New("i/o timeout") // what the past read deadline gives
	var cuts atomic.Int32
	b := &idleBody{r: io.NopCloser(src), after: time.Minute, timer: &fakeBodyTimer{}, cut: func() { cuts.Add(1) }}
	errs := make(chan error)
	go func() {
		_, err := b.Read(make([]byte, 8))
		errs <- err
	}()
	<-src.waiting
	b.expire()
	assert.EqualValues(t, 1, cuts.Load(), "the waiting Read was cut")
	close(src.next) // as the past deadline ends the Read
	err := <-errs
	assert.ErrorIs(t, err, ErrBodyTimeout)

	b = &idleBody{r: io.NopCloser(errBodyReader{cut}), after: time.Minute, timer: &fakeBodyTimer{}, cut: func() {}}
	_, err = b.Read(make([]byte, 8))
	assert.ErrorIs(t, err, cut, "a read error without the clock is passed on")
	assert.NotErrorIs(t, err, ErrBodyTimeout)
}

// time.AfterFunc can start the callback just before Stop, when the Read
// it timed has returned: then it must do nothing. A deadline set then
// would hit net/http's background read (cancelling the request's context
// while the handler commits) or the next request on the connection.
func TestALateBodyClockDoesNothing(t *testing.T) {
	var cuts atomic.Int32
	b := &idleBody{r: io.NopCloser(strings.NewReader("all of it")), after: time.Minute, timer: &fakeBodyTimer{}, cut: func() { cuts.Add(1) }}
	data, err := io.ReadAll(b)
	assert.NoError(t, err)
	b.expire() // between reads, or after the last one
	assert.Zero(t, cuts.Load())
	b.end()
	b.expire() // after the handler is done
	assert.Zero(t, cuts.Load())
	assert.Equal(t, "all of it", string(data))
	_, err = b.Read(make([]byte, 1))
	assert.Equal(t, io.EOF, err, "not ErrBodyTimeout")
}

type errBodyReader struct{ err error }

func (r errBodyReader) Read([]byte) (int, error) { return 0, r.err }
