package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// These tests hang data servers in the middle of reads and play the stall
// clock's time running out by hand (fakeTimer.expire).

// readFixture is an object of size bytes that the fake metadata server
// places on replicas, with its chunk list if withList, and a client
// whose stall clocks arrive on the channel as exchanges start, each
// telling of its Resets.
func readFixture(t *testing.T, size int, withList bool, replicas func(data []byte) []string) (*Client, *fakeMeta, []byte, chan *fakeTimer) {
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{7}).Read(data)
	h := blob.NewChunkHasher()
	h.Write(data)
	v := version(data, replicas(data)...)
	fm := &fakeMeta{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /objects", func(w http.ResponseWriter, r *http.Request) { json.NewEncoder(w).Encode(v) })
	mux.HandleFunc("GET /chunks/", func(w http.ResponseWriter, r *http.Request) {
		if !withList {
			http.Error(w, "no list", http.StatusNotFound)
			return
		}
		json.NewEncoder(w).Encode(h.Chunks())
	})
	mux.Handle("/", fm)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	timers := make(chan *fakeTimer, 16)
	c := New(Options{MetaURL: srv.URL, TempDir: t.TempDir(), Log: slog.New(slog.DiscardHandler),
		AfterFunc: func(_ time.Duration, f func()) Timer {
			ft := &fakeTimer{fire: f, reset: make(chan struct{}, 1)}
			timers <- ft
			return ft
		}})
	return c, fm, data, timers
}

// hangAfter is a data server that answers, Range and all, with the first
// n bytes of data and then sends nothing more, until its client goes.
// It says on arrived when a request arrives; n < 0 means before the
// headers.
func hangAfter(t *testing.T, data []byte, n int, arrived chan<- struct{}) string {
	release := make(chan struct{})
	url := server(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		if n >= 0 {
			http.ServeContent(w, r, "", time.Time{}, &hang{bytes.NewReader(data[:n]), int64(len(data)), r.Context(), release})
			return
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server's Close
	return url
}

// hang reads like a reader of size bytes of which only r's are there:
// past them it waits for ctx or release, then fails.
type hang struct {
	r       *bytes.Reader
	size    int64
	ctx     context.Context
	release <-chan struct{}
}

func (h *hang) Read(p []byte) (int, error) {
	if h.r.Len() > 0 {
		return h.r.Read(p)
	}
	select {
	case <-h.ctx.Done():
	case <-h.release:
	}
	return 0, io.ErrUnexpectedEOF
}

func (h *hang) Seek(off int64, whence int) (int64, error) {
	if whence == io.SeekEnd {
		return h.r.Seek(off+h.size-int64(h.r.Size()), whence)
	}
	return h.r.Seek(off, whence)
}

// ranges is a replica that records the Range of every request.
type ranges struct {
	mu  sync.Mutex
	got []string
}

func (rs *ranges) serve(t *testing.T, data []byte) string {
	return server(t, func(w http.ResponseWriter, r *http.Request) {
		rs.mu.Lock()
		rs.got = append(rs.got, r.Header.Get("Range"))
		rs.mu.Unlock()
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	})
}

func (rs *ranges) requests() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.got
}

// result is what a read in another goroutine got.
type result struct {
	b   []byte
	err error
}

// getAll gets key k in another goroutine and reads it to its end.
func getAll(c *Client) <-chan result {
	done := make(chan result, 1)
	go func() {
		o, err := c.Get(context.Background(), "k", 0)
		if err != nil {
			done <- result{nil, err}
			return
		}
		defer o.Close()
		done <- <-readAll(o)
	}()
	return done
}

// readAll reads o to its end in another goroutine.
func readAll(o io.Reader) <-chan result {
	done := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(o)
		done <- result{b, err}
	}()
	return done
}

// expireInBody lets clock run out while the reader waits inside a Read
// of an answer's body: the headers are in (only a body Read starts the
// clock again), and some of the body may be too.
func expireInBody(t *testing.T, clock *fakeTimer) {
	t.Helper()
	waitFor(t, clock.reset)
	for !clock.expire() { // the Read had returned; wait for the next
		waitFor(t, clock.reset)
	}
}

// A replica that sends its headers and part of the body, then nothing: its
// clock runs out, and Get reads the whole blob from the next replica,
// error-free, without reporting the slow one as a bad copy. In memory,
// and through a temporary file (a large blob without a chunk list).
func TestAReadThatStallsMidBodyGoesToTheNextReplica(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
	}{{"in memory", 64 << 10}, {"spooled", 3 << 19}} {
		t.Run(tc.name, func(t *testing.T) {
			arrived := make(chan struct{}, 1)
			c, fm, data, timers := readFixture(t, tc.size, false, func(data []byte) []string {
				return []string{hangAfter(t, data, len(data)/2, arrived), replica(t, data)}
			})
			done := getAll(c)
			waitFor(t, arrived)
			expireInBody(t, waitFor(t, timers))
			r := waitFor(t, done)
			require.NoError(t, r.err)
			assert.Equal(t, data, r.b)
			bad, _ := fm.reports()
			assert.Empty(t, bad, "a slow replica was reported as a bad copy")
		})
	}
}

// A replica that takes the request and never answers: its clock, running
// since the request started, runs out, and Get goes to the next replica.
// Through fetch (a small blob) and through a stream's open.
func TestAReadThatStallsBeforeTheHeadersGoesToTheNextReplica(t *testing.T) {
	for _, tc := range []struct {
		name     string
		size     int
		withList bool
	}{{"whole", 64 << 10, false}, {"streamed", 3*blob.ChunkSize + 10, true}} {
		t.Run(tc.name, func(t *testing.T) {
			arrived := make(chan struct{}, 1)
			c, fm, data, timers := readFixture(t, tc.size, tc.withList, func(data []byte) []string {
				return []string{hangAfter(t, data, -1, arrived), replica(t, data)}
			})
			done := getAll(c)
			clock := waitFor(t, timers)
			waitFor(t, arrived)
			assert.Zero(t, clock.resets.Load(), "headers came")
			assert.True(t, clock.expire(), "the clock stood still while waiting for headers")
			r := waitFor(t, done)
			require.NoError(t, r.err)
			assert.Equal(t, data, r.b)
			bad, _ := fm.reports()
			assert.Empty(t, bad, "a slow replica was reported as a bad copy")
		})
	}
}

// When every replica stalls, the read fails with ErrStalled, naming the
// data server, as well as ErrNoReplica: Get before the headers, and a
// stream's Read in the middle of chunk 1.
func TestAReadThatStallsEverywhereIsErrStalled(t *testing.T) {
	t.Run("Get", func(t *testing.T) {
		arrived := make(chan struct{}, 1)
		var hung string
		c, _, _, timers := readFixture(t, 1000, false, func(data []byte) []string {
			hung = hangAfter(t, data, -1, arrived)
			return []string{hung}
		})
		done := getAll(c)
		waitFor(t, arrived)
		waitFor(t, timers).expire()
		err := waitFor(t, done).err
		assert.ErrorIs(t, err, ErrStalled)
		assert.ErrorIs(t, err, ErrNoReplica)
		assert.ErrorContains(t, err, hung+", for 30s")
	})
	t.Run("stream", func(t *testing.T) {
		arrived := make(chan struct{}, 1)
		var hung string
		c, fm, data, timers := readFixture(t, 3*blob.ChunkSize, true, func(data []byte) []string {
			hung = hangAfter(t, data, blob.ChunkSize+5000, arrived)
			return []string{hung}
		})
		o, err := c.Get(context.Background(), "k", 0)
		require.NoError(t, err)
		defer o.Close()
		clock := waitFor(t, timers)
		waitFor(t, clock.reset) // the Reads of chunk 0, before Get returned
		done := readAll(o)
		expireInBody(t, clock)
		r := waitFor(t, done)
		assert.Equal(t, data[:blob.ChunkSize], r.b, "only chunk 0 was checked")
		assert.ErrorIs(t, r.err, ErrStalled)
		assert.ErrorIs(t, r.err, ErrNoReplica)
		assert.ErrorContains(t, r.err, hung+", for 30s")
		bad, _ := fm.reports()
		assert.Empty(t, bad, "a slow replica was reported as a bad copy")
	})
}

// A stream whose replica hangs in the middle of chunk 1, after chunk 0
// was handed out: the next replica carries on from chunk 1, the reader
// sees one unbroken, verified stream, and nobody is reported.
func TestAStreamThatStallsMidChunkGoesToTheNextReplica(t *testing.T) {
	arrived := make(chan struct{}, 4)
	var good ranges
	c, fm, data, timers := readFixture(t, 3*blob.ChunkSize+blob.ChunkSize/2, true, func(data []byte) []string {
		return []string{hangAfter(t, data, blob.ChunkSize+5000, arrived), good.serve(t, data)}
	})
	o, err := c.Get(context.Background(), "k", 0)
	require.NoError(t, err)
	defer o.Close()
	clock := waitFor(t, timers)
	waitFor(t, clock.reset) // the Reads of chunk 0, before Get returned
	assert.True(t, clock.stopped.Load(), "chunk 0 is in: the clock waits for the reader")

	done := readAll(o)
	expireInBody(t, clock)
	r := waitFor(t, done)
	require.NoError(t, r.err)
	assert.Equal(t, data, r.b)
	assert.Equal(t, []string{"bytes=" + strconv.Itoa(blob.ChunkSize) + "-"}, good.requests(),
		"the second replica takes over at chunk 1")
	bad, dropped := fm.reports()
	assert.Empty(t, bad, "a slow replica was reported as a bad copy")
	assert.Zero(t, dropped)
}

// The stall clock measures the data server, not the stream's reader: a
// reader that pauses (an API server's slow client) between Reads, in the
// middle of a chunk or at its end, leaves every clock stopped, and the
// stream never leaves its first replica.
func TestAPausingReaderIsNotAStall(t *testing.T) {
	var first, second ranges
	c, _, data, timers := readFixture(t, 3*blob.ChunkSize+blob.ChunkSize/2, true, func(data []byte) []string {
		return []string{first.serve(t, data), second.serve(t, data)}
	})
	o, err := c.Get(context.Background(), "k", 0)
	require.NoError(t, err)
	defer o.Close()
	clock := waitFor(t, timers)

	var got []byte
	p := make([]byte, blob.ChunkSize/3)
	for {
		n, err := o.Read(p)
		got = append(got, p[:n]...)
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		// The reader pauses here, for as long as it likes.
		assert.False(t, clock.expire(), "the clock ran while the reader paused, at byte %d", len(got))
	}
	assert.Equal(t, data, got)
	assert.Equal(t, []string{"bytes=0-"}, first.requests())
	assert.Empty(t, second.requests(), "the stream left a replica that was waiting for its reader")
	assert.Empty(t, timers, "the stream opened another answer")
	assert.GreaterOrEqual(t, clock.resets.Load(), int32(4), "each Read of the answer (at least one a chunk) restarts the clock")
}

// The clock of a read runs from the start until the headers are in, then
// only inside the answer's Reads, and each Read starts it from zero: a
// slow but steady data server never stalls.
func TestEveryReadOfAnAnswerRestartsTheStallClock(t *testing.T) {
	c, timers := stallClient(t, "http://unused")
	w := c.watch(context.Background(), "ds")
	clock := waitFor(t, timers)
	assert.False(t, clock.stopped.Load(), "the clock runs from the start (dialling, headers)")
	src := &blockingReader{waiting: make(chan struct{}), next: make(chan []byte)}
	body := w.receiving(io.NopCloser(src))
	assert.True(t, clock.stopped.Load(), "headers in: nothing is asked of the data server yet")

	got := make(chan int)
	for i, part := range []string{"abc", "de"} {
		go func() {
			n, _ := body.Read(make([]byte, 8))
			got <- n
		}()
		waitFor(t, src.waiting)
		assert.False(t, clock.stopped.Load(), "waiting for the data server's bytes")
		assert.Equal(t, int32(i+1), clock.resets.Load(), "Read %d did not start the clock from zero", i+1)
		src.next <- []byte(part)
		assert.Equal(t, len(part), waitFor(t, got))
		assert.True(t, clock.stopped.Load(), "bytes in: the wait is the reader's")
	}
	assert.NoError(t, body.Close())
	assert.ErrorIs(t, w.ctx.Err(), context.Canceled, "Close ends the watch")
}

// Once the clock has fired, an exchange that fails fails with ErrStalled,
// naming the data server, whatever error the transport chose (a closed
// connection, say); an exchange whose clock did not fire keeps its own.
func TestAnExchangeCutShortIsErrStalled(t *testing.T) {
	c, timers := stallClient(t, "http://unused")
	closed := errors.New("read tcp: use of closed network connection")
	for _, fire := range []bool{true, false} {
		w := c.watch(context.Background(), "http://ds")
		clock := waitFor(t, timers)
		body := w.receiving(io.NopCloser(iotest.ErrReader(closed)))
		if fire {
			clock.fire()
		}
		_, readErr := body.Read(make([]byte, 8))
		endErr := w.end(closed)
		if fire {
			assert.ErrorIs(t, readErr, ErrStalled)
			assert.ErrorContains(t, readErr, "http://ds, for 30s")
			assert.ErrorIs(t, endErr, ErrStalled)
			assert.ErrorContains(t, endErr, "http://ds, for 30s")
		} else {
			assert.Equal(t, closed, readErr)
			assert.Equal(t, closed, endErr)
		}
		assert.NoError(t, w.end(nil), "an exchange that did not fail")
	}
}
