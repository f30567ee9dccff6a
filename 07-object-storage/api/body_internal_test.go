package api

import (
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

type fakeTimer struct{ running atomic.Bool }

func (t *fakeTimer) Reset(time.Duration) bool { t.running.Store(true); return true }
func (t *fakeTimer) Stop() bool               { t.running.Store(false); return true }

// stepReader says on waiting when a Read starts, then gives what the
// test sends on next (EOF once next is closed).
type stepReader struct {
	waiting chan struct{}
	next    chan []byte
}

func (r *stepReader) Read(b []byte) (int, error) {
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
	src := &stepReader{waiting: make(chan struct{}), next: make(chan []byte)}
	clock := &fakeTimer{}
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

// Once the clock has fired, the Read it cut short (and any later one)
// says so with ErrBodyTimeout, which the API answers with 408.
func TestAFiredBodyClockIsErrBodyTimeout(t *testing.T) {
	cut := errors.New("i/o timeout") // what the past read deadline gives
	b := &idleBody{r: io.NopCloser(errReader{cut}), after: time.Minute, timer: &fakeTimer{}}
	_, err := b.Read(make([]byte, 8))
	assert.ErrorIs(t, err, cut, "a read error before the clock fired is passed on")
	assert.NotErrorIs(t, err, ErrBodyTimeout)
	b.fired = true
	_, err = b.Read(make([]byte, 8))
	assert.ErrorIs(t, err, ErrBodyTimeout)
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
