package client

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/deadaddr"
	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// hangingServer is a data server that takes connections and then
// neither reads from them nor answers, until the test ends.
func hangingServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// doomClient is a client of a fake metadata server that places every
// blob on targets, R = W = 2. Its stall clocks never fire (as if
// StallTimeout were an hour), and the grace a doomed write gives its
// uploads is a fake handed to the test on graces when it starts.
func doomClient(t *testing.T, targets []string, opt Options) (*Client, chan *fakeTimer) {
	fm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(meta.Placement{Targets: targets, Replicas: 2, Quorum: 2})
	}))
	t.Cleanup(fm.Close)
	graces := make(chan *fakeTimer, 1)
	opt.MetaURL, opt.Log, opt.StallTimeout = fm.URL, slog.New(slog.DiscardHandler), time.Hour
	opt.AfterFunc = func(d time.Duration, f func()) Timer {
		ft := &fakeTimer{fire: f}
		if d == doomedGrace {
			graces <- ft
		}
		return ft
	}
	return New(opt), graces
}

// A write that can no longer make W copies does not wait for an upload
// whose data server hangs: beside a server that is down, the write is
// doomed at once, and it ends once its uploads under way have had
// doomedGrace to end on their own, not when the hanging upload's stall
// clock fires (30 s by default; never, here). The error names the
// failure that doomed it, not the upload it cut short. Both ways of
// putting: Put (its body goes to the hanging server whole, and the
// upload waits for an answer), and PutStream (its transport waits for
// "100 Continue" as long as the test lasts, so that it never reads its
// pipe: as a transport whose writes to a server that stopped reading
// block, once the socket buffers are full).
func TestADoomedWriteDoesNotWaitForAServerThatHangs(t *testing.T) {
	hang, dead := hangingServer(t), deadaddr.URL(t)
	for name, tc := range putWays() {
		// In either order: Put's error names the last failure of the
		// placement's order (reported), and a cut-short upload listed
		// after the dead server must not be it.
		for order, targets := range map[string][]string{"hang first": {hang, dead}, "dead first": {dead, hang}} {
			t.Run(name+"/"+order, func(t *testing.T) {
				c, graces := doomClient(t, targets, tc.opt)
				done := make(chan error, 1)
				go func() { done <- tc.put(c) }()
				var err error
				select {
				case err = <-done:
				case grace := <-graces: // doomed by the dead server
					grace.fire() // and the hanging upload has not ended in time
					err = waitFor(t, done)
				case <-time.After(10 * time.Second): // a bound on a hang, not a timing
					t.Fatal("the write still waits for the hanging server after 10s")
				}
				assert.ErrorIs(t, err, meta.ErrTooFewReplicas)
				assert.ErrorContains(t, err, dead, "the error does not name the server that doomed the write")
				assert.NotContains(t, err.Error(), strings.TrimPrefix(hang, "http://"), "the upload cut short is named")
				assert.NotErrorIs(t, err, ErrStalled)
			})
		}
	}
}

// A doomed Put tries no further server: with R = W = 2 and two of the
// three servers down, the third could make one copy only.
func TestADoomedPutTriesNoFurtherServer(t *testing.T) {
	var puts atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		puts.Add(1)
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(up.Close)
	c, _ := doomClient(t, []string{deadaddr.URL(t), deadaddr.URL(t), up.URL}, Options{})
	_, err := c.Put(context.Background(), "k", strings.NewReader("some bytes"))
	assert.ErrorIs(t, err, meta.ErrTooFewReplicas)
	assert.Zero(t, puts.Load(), "uploaded to the third server")
}

// A streamed write can be doomed after the fan-out's last Write, too: a
// data server that fails once it has the whole body but the byte held
// back. It is a doomed write all the same, whose error names that
// failure, not the upload beside it that the grace cut short (which
// took every byte, and never answers).
func TestAStreamedWriteDoomedAfterItsLastWriteNamesItsCause(t *testing.T) {
	data := make([]byte, 3*blob.ChunkSize)
	rand.NewChaCha8([32]byte{7}).Read(data)
	failsLate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadFull(r.Body, make([]byte, len(data)-1)) // it can have no more until the copy is over
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(failsLate.Close)
	release := make(chan struct{})
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		<-release
	}))
	t.Cleanup(silent.Close)
	t.Cleanup(func() { close(release) }) // runs first: lets the handler end
	c, graces := doomClient(t, []string{failsLate.URL, silent.URL}, Options{MemoryLimit: 10})

	done := make(chan error, 1)
	go func() {
		_, err := c.PutStream(context.Background(), "k", bytes.NewReader(data), int64(len(data)), blob.Sum(data), PutOptions{})
		done <- err
	}()
	waitFor(t, graces).fire()
	err := waitFor(t, done)
	assert.ErrorIs(t, err, meta.ErrTooFewReplicas)
	assert.ErrorContains(t, err, failsLate.URL, "the error does not name the server that doomed the write")
	assert.NotErrorIs(t, err, context.Canceled, "the upload cut short is the cause")
}

// putWay is one way of putting an object, with the options it needs.
type putWay struct {
	opt Options
	put func(c *Client) error
}

// putWays are the two ways of putting that the doomed-write tests try:
// Put (its body goes to a hanging server whole, and the upload waits for
// an answer), and PutStream (its transport waits for "100 Continue" as
// long as the test lasts, so that it never reads its pipe: as a
// transport whose writes to a server that stopped reading block, once
// the socket buffers are full).
func putWays() map[string]putWay {
	waitsForContinue := NewTransport()
	waitsForContinue.ExpectContinueTimeout = time.Hour
	return map[string]putWay{
		"Put": {Options{}, func(c *Client) error {
			_, err := c.Put(context.Background(), "k", strings.NewReader("some bytes"))
			return err
		}},
		"PutStream": {Options{MemoryLimit: 10, HTTP: &http.Client{Transport: waitsForContinue}}, func(c *Client) error {
			const size = 1 << 30 // it must not be read to its end
			_, err := c.PutStream(context.Background(), "k", &countingReader{}, size, blob.Sum([]byte("any")), PutOptions{})
			return err
		}},
	}
}
