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
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// quorumClient is a client of a fake metadata server that places every
// blob on targets with R = 3 and W = 2, and commits whatever copies it
// is told of. Its stall clocks never fire (as if StallTimeout were an
// hour), and the grace for uploads beyond W is a fake handed to the test
// on graces when it starts; each Reset of it leaves a token on its
// reset channel. It logs to opt.Log, if set.
func quorumClient(t *testing.T, targets []string, opt Options) (*Client, chan *fakeTimer) {
	return quorumClientHaving(t, nil, targets, opt)
}

// quorumClientHaving is quorumClient whose placements say the servers
// of have hold the blob already.
func quorumClientHaving(t *testing.T, have, targets []string, opt Options) (*Client, chan *fakeTimer) {
	return placingClient(t, meta.Placement{Targets: targets, Have: have, Replicas: 3, Quorum: 2}, opt)
}

// placingClient is quorumClient whose placements are p.
func placingClient(t *testing.T, p meta.Placement, opt Options) (*Client, chan *fakeTimer) {
	fm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/writes":
			json.NewEncoder(w).Encode(p)
		case "/commits":
			var req meta.CommitRequest
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(meta.Version{Key: req.Key, Number: 1, Hash: req.Hash, Size: req.Size, Replicas: req.Replicas})
		}
	}))
	t.Cleanup(fm.Close)
	graces := make(chan *fakeTimer, 4)
	opt.MetaURL, opt.StallTimeout = fm.URL, time.Hour
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	opt.AfterFunc = func(d time.Duration, f func()) Timer {
		ft := &fakeTimer{fire: f, reset: make(chan struct{}, 1)}
		if d == quorumGrace {
			graces <- ft
		}
		return ft
	}
	return New(opt), graces
}

// goodServer is a data server that takes every upload; puts counts them.
func goodServer(t *testing.T, puts *atomic.Int32) string {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if puts != nil {
			puts.Add(1)
		}
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(s.Close)
	return s.URL
}

// silentServer is a data server that takes an upload's whole body and
// then never answers (until the test ends): a data server stuck in its
// fsync, say. open counts its connections that are not closed yet.
func silentServer(t *testing.T) (url string, open *atomic.Int64) {
	open = new(atomic.Int64)
	release := make(chan struct{})
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done(): // the client closed the connection
		case <-release:
		}
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	t.Cleanup(func() { close(release) }) // runs first: lets the handler end
	return s.URL, open
}

// quorumWay is one way of putting an object that succeeds, with the
// options it needs.
type quorumWay struct {
	opt Options
	put func(c *Client) (meta.Version, error)
}

// quorumWays are Put, and PutStream with a body above its MemoryLimit
// (it streams).
func quorumWays() map[string]quorumWay {
	data := make([]byte, 64<<10)
	rand.NewChaCha8([32]byte{9}).Read(data)
	return map[string]quorumWay{
		"Put": {Options{}, func(c *Client) (meta.Version, error) {
			return c.Put(context.Background(), "k", bytes.NewReader(data))
		}},
		"PutStream": {Options{MemoryLimit: 10}, func(c *Client) (meta.Version, error) {
			return c.PutStream(context.Background(), "k", bytes.NewReader(data), int64(len(data)), blob.Sum(data), PutOptions{})
		}},
	}
}

// warnings keeps what a client logs at Warn and above; the client's
// goroutines may write to it at once.
type warnings struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (w *warnings) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *warnings) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func (w *warnings) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type putResult struct {
	v   meta.Version
	err error
}

// nothingLeft checks, with a deadline, that once c closes its idle
// connections none is left open to a server (open counts them there;
// a dial that a cut request left under way gives the transport an idle
// one), and that no
// goroutine is left in a method of package client (an upload, a round,
// a grace); the test's own goroutines are in functions, not methods. A
// transport closes a connection from a goroutine of its own, hence the
// wait.
func nothingLeft(t *testing.T, c *Client, open *atomic.Int64) {
	t.Helper()
	var stacks string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		c.http.CloseIdleConnections()
		buf := make([]byte, 1<<20)
		stacks = string(buf[:runtime.Stack(buf, true)])
		busy := strings.Contains(stacks, "07-object-storage/client.(*")
		if (open.Load() == 0 && !busy) || time.Now().After(deadline) {
			break
		}
	}
	assert.Zero(t, open.Load(), "connections left open to the server that never answers")
	assert.NotContains(t, stacks, "07-object-storage/client.(*", "goroutines left in package client")
}

// A write with R = 3 and W = 2 whose third data server never answers
// does not wait for that upload's stall clock (30 s by default; never,
// here): once the two copies are made, the third upload, which makes no
// progress, is cut short at the end of a grace (quorumGrace), and the
// write commits the two copies. It tries no further server for the
// upload cut short, nor logs it as a failed upload (a warning), but
// says at Info that it went on without it, and leaves nothing behind:
// no connection to the server is left open, and no goroutine. The grace
// may find the
// third upload still sending its body (it started after the two
// answered): it is then spared for one grace more, and cut at its end.
// Both ways of putting; the server that never answers takes the body
// first, as a server stuck in its fsync does. (A server that takes no
// byte at all holds a streamed write back before any copy is made: the
// fan-out feeds the uploads in step, and that is its stall clock's
// business.)
func TestAWriteWithWCopiesDoesNotWaitForAServerThatHangs(t *testing.T) {
	for name, tc := range quorumWays() {
		for _, order := range []string{"silent last", "silent first"} {
			t.Run(name+"/"+order, func(t *testing.T) {
				var spare atomic.Int32
				good1, good2 := goodServer(t, nil), goodServer(t, nil)
				silent, open := silentServer(t)
				targets := []string{good1, good2, silent}
				if order == "silent first" {
					targets = []string{silent, good1, good2}
				}
				var logged warnings
				opt := tc.opt
				opt.Log = slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelInfo}))
				c, graces := quorumClient(t, append(targets, goodServer(t, &spare)), opt)
				done := make(chan putResult, 1)
				go func() {
					v, err := tc.put(c)
					done <- putResult{v, err}
				}()
				grace := waitFor(t, graces) // the two copies are made
				r := expireUntilDone(t, grace, done)
				require.NoError(t, r.err)
				assert.ElementsMatch(t, []string{good1, good2}, r.v.Replicas)
				assert.True(t, grace.stopped.Load(), "the grace still runs")
				assert.Zero(t, spare.Load(), "uploaded to a further server for a copy beyond W")
				assert.NotContains(t, logged.String(), "level=WARN", "the upload cut short is logged as a failure")
				assert.NotContains(t, logged.String(), "level=ERROR", "the upload cut short is logged as a failure")
				// An Info line says the write went on without it.
				assert.Contains(t, logged.String(), `level=INFO msg="upload beyond the write quorum made no progress; committing without it" addr=`+silent)
				nothingLeft(t, c, open)
			})
		}
	}
}

// A server that takes no byte at all (hangingServer) is cut short the
// same way: Put's upload to it waits for "100 Continue", which never
// comes (the transport here waits as long as the test lasts).
func TestAPutWithWCopiesDoesNotWaitForAServerThatTakesNoByte(t *testing.T) {
	waitsForContinue := NewTransport()
	waitsForContinue.ExpectContinueTimeout = time.Hour
	good1, good2 := goodServer(t, nil), goodServer(t, nil)
	c, graces := quorumClient(t, []string{good1, hangingServer(t), good2}, Options{HTTP: &http.Client{Transport: waitsForContinue}})
	done := make(chan putResult, 1)
	go func() {
		v, err := c.Put(context.Background(), "k", strings.NewReader("some bytes"))
		done <- putResult{v, err}
	}()
	require.True(t, waitFor(t, graces).expire())
	r := waitFor(t, done)
	require.NoError(t, r.err)
	assert.ElementsMatch(t, []string{good1, good2}, r.v.Replicas)
	nothingLeft(t, c, new(atomic.Int64))
}

// slowServer is a data server that takes an upload's body only once
// start is closed, says so on took, and answers 201 once answer is
// closed (or the test has ended).
func slowServer(t *testing.T) (url string, start, took, answer chan struct{}) {
	start, took, answer = make(chan struct{}), make(chan struct{}, 1), make(chan struct{})
	release := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-start:
		case <-release:
			return
		}
		io.Copy(io.Discard, r.Body)
		took <- struct{}{}
		select {
		case <-answer:
		case <-release:
		}
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(s.Close)
	t.Cleanup(func() { close(release) }) // runs first: lets the handler end
	return s.URL, start, took, answer
}

// An upload beyond W that makes progress during the grace is not cut:
// Put's third upload, which its server lets send its body only once the
// two copies are made (the transport waits for "100 Continue" as long as
// the test lasts), is watched for one grace more, and its copy is
// listed once it ends.
func TestAPutWithWCopiesWaitsForAnUploadThatProgresses(t *testing.T) {
	waitsForContinue := NewTransport()
	waitsForContinue.ExpectContinueTimeout = time.Hour
	good1, good2 := goodServer(t, nil), goodServer(t, nil)
	slow, start, took, answer := slowServer(t)
	c, graces := quorumClient(t, []string{good1, good2, slow}, Options{HTTP: &http.Client{Transport: waitsForContinue}})
	done := make(chan putResult, 1)
	go func() {
		v, err := c.Put(context.Background(), "k", strings.NewReader("some bytes"))
		done <- putResult{v, err}
	}()
	grace := waitFor(t, graces) // the two copies are made
	close(start)
	waitFor(t, took) // the body has moved since the grace started
	require.True(t, grace.expire())
	waitFor(t, grace.reset) // spared: one grace more
	select {
	case r := <-done:
		t.Fatalf("the write ended while its third upload was under way: %v", r.err)
	default:
	}
	close(answer)
	r := waitFor(t, done)
	require.NoError(t, r.err)
	assert.ElementsMatch(t, []string{good1, good2, slow}, r.v.Replicas)
	assert.True(t, grace.stopped.Load(), "the grace still runs")
}

// An upload beyond W is not cut as the W copies are made: one that ends
// within the grace is listed. Both ways of putting; the third server
// takes the body at once (a streamed write cannot make two copies
// before it has), and answers only once the grace has started.
func TestAWriteWithWCopiesListsAnUploadThatEndsInTheGrace(t *testing.T) {
	for name, tc := range quorumWays() {
		t.Run(name, func(t *testing.T) {
			good1, good2 := goodServer(t, nil), goodServer(t, nil)
			slow, start, _, answer := slowServer(t)
			close(start)
			c, graces := quorumClient(t, []string{good1, slow, good2}, tc.opt)
			done := make(chan putResult, 1)
			go func() {
				v, err := tc.put(c)
				done <- putResult{v, err}
			}()
			grace := waitFor(t, graces) // the two copies are made
			close(answer)
			r := waitFor(t, done)
			require.NoError(t, r.err)
			assert.ElementsMatch(t, []string{good1, slow, good2}, r.v.Replicas)
			assert.True(t, grace.stopped.Load(), "the grace still runs")
		})
	}
}

// expireUntilDone ends grace, again each time the write's uploads made
// progress during it (at most three times), until the write is done,
// and returns what it returned.
func expireUntilDone(t *testing.T, grace *fakeTimer, done <-chan putResult) putResult {
	t.Helper()
	for range 3 {
		require.True(t, grace.expire(), "the grace is not running")
		select {
		case r := <-done:
			return r
		case <-grace.reset: // it made progress during the grace
		case <-time.After(10 * time.Second): // a bound on a hang, not a timing
			t.Fatal("the write still waits for the silent server after its grace")
		}
	}
	t.Fatal("the write still waits after three graces")
	return putResult{}
}
