package client

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// fakeTimer is a stall clock that fires only when the test says. It
// records whether it runs: started by AfterFunc and Reset, stopped by
// Stop. If reset is not nil, each Reset leaves a token on it (without
// waiting for room).
type fakeTimer struct {
	fire    func()
	resets  atomic.Int32
	stopped atomic.Bool
	reset   chan struct{}
}

func (t *fakeTimer) Reset(time.Duration) bool {
	t.resets.Add(1)
	t.stopped.Store(false)
	select {
	case t.reset <- struct{}{}:
	default:
	}
	return true
}

func (t *fakeTimer) Stop() bool { t.stopped.Store(true); return true }

// expire is the clock's time running out: it fires, as a real timer
// would, only if the clock runs.
func (t *fakeTimer) expire() bool {
	if t.stopped.Load() {
		return false
	}
	t.fire()
	return true
}

// stallClient is a client of a fake metadata server that places every
// blob on the one data server ds, and whose stall clocks are fakes,
// handed to the test on timers as uploads start.
func stallClient(t *testing.T, ds string) (*Client, chan *fakeTimer) {
	fm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/writes":
			json.NewEncoder(w).Encode(meta.Placement{Targets: []string{ds}, Replicas: 1, Quorum: 1})
		case "/commits":
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(meta.Version{Number: 1})
		}
	}))
	t.Cleanup(fm.Close)
	timers := make(chan *fakeTimer, 4)
	c := New(Options{MetaURL: fm.URL, Log: slog.New(slog.DiscardHandler),
		AfterFunc: func(_ time.Duration, f func()) Timer {
			ft := &fakeTimer{fire: f}
			timers <- ft
			return ft
		}})
	return c, timers
}

func waitFor[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second): // a bound on a hang, not a timing
		t.Fatal("waited 10s")
		panic("unreachable")
	}
}

// A data server that stops reading a body mid-way: the upload is given up
// on once its stall clock fires, and the write fails clearly instead of
// waiting for as long as its caller does.
func TestAStalledUploadIsAbandoned(t *testing.T) {
	release := make(chan struct{})
	ds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body.Read(make([]byte, 1)) // takes a byte (and says 100 Continue), then no more
		<-release
	}))
	t.Cleanup(ds.Close)
	t.Cleanup(func() { close(release) }) // runs first: lets the handler end
	c, timers := stallClient(t, ds.URL)

	data := make([]byte, 8<<20) // more than the sockets between them hold
	rand.NewChaCha8([32]byte{3}).Read(data)
	done := make(chan error, 1)
	go func() {
		_, err := c.PutStream(context.Background(), "k", bytes.NewReader(data), int64(len(data)), blob.Sum(data), PutOptions{})
		done <- err
	}()
	clock := waitFor(t, timers)
	clock.fire()
	err := waitFor(t, done)
	assert.ErrorIs(t, err, ErrStalled)
	assert.ErrorIs(t, err, meta.ErrTooFewReplicas)
	assert.True(t, clock.stopped.Load())
}

// Every read of the body restarts the clock, and the clock stops when
// the upload ends.
func TestUploadProgressRestartsTheStallClock(t *testing.T) {
	ds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(ds.Close)
	c, timers := stallClient(t, ds.URL)
	data := make([]byte, 3<<20)
	require.NoError(t, c.upload(context.Background(), ds.URL, bytes.NewReader(data), blob.Sum(data), int64(len(data))))
	clock := waitFor(t, timers)
	assert.Positive(t, clock.resets.Load())
	assert.True(t, clock.stopped.Load())
}

// blockingReader gives its bytes one read at a time, each when the test
// sends on next, and says on waiting when a read has started.
type blockingReader struct {
	waiting chan struct{}
	next    chan []byte
}

func (r *blockingReader) Read(b []byte) (int, error) {
	r.waiting <- struct{}{}
	p, ok := <-r.next
	if !ok {
		return 0, io.EOF
	}
	return copy(b, p), nil
}

// The clock runs only while the transport holds bytes to send: while it
// waits for the body's next bytes (a PutStream caller that pauses), the
// data server is not stalling, and the clock stands still.
func TestWaitingForTheBodyIsNotAStall(t *testing.T) {
	c, timers := stallClient(t, "http://unused")
	src := &blockingReader{waiting: make(chan struct{}), next: make(chan []byte)}
	w := c.watch(context.Background(), "ds")
	body, stop := w.sending(src), w.end
	clock := waitFor(t, timers)
	assert.False(t, clock.stopped.Load(), "the clock runs from the start (dialling, headers)")

	got := make(chan int)
	go func() {
		n, _ := body.Read(make([]byte, 8))
		got <- n
	}()
	waitFor(t, src.waiting)
	assert.True(t, clock.stopped.Load(), "waiting for the body's bytes")
	src.next <- []byte("abc")
	assert.Equal(t, 3, waitFor(t, got))
	assert.False(t, clock.stopped.Load(), "holding bytes to send")

	go func() {
		n, _ := body.Read(make([]byte, 8))
		got <- n
	}()
	waitFor(t, src.waiting)
	assert.NoError(t, stop(nil)) // the upload ends while a Read waits
	close(src.next)
	waitFor(t, got)
	assert.True(t, clock.stopped.Load(), "a Read that returns after the end starts nothing")
}
