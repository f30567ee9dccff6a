package client

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// copyBetweenServers counts a server this write stored the blob on only
// if it still answers for it with the blob's size; it asks each target
// to copy from the first holder, and from the next one only after a 502
// (the source did not serve it); any other refusal moves on to the next
// target.
func TestCopyBetweenServersTriesTheNextSourceOnlyAfterA502(t *testing.T) {
	h := blob.Sum([]byte("twelve bytes"))
	holder := func(size int) string { // a server whose copy's HEAD says size
		return server(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(size))
		})
	}
	good1, good2, short := holder(12), holder(12), holder(11)
	var mu sync.Mutex
	asked := map[string][]string{} // target -> the sources it was asked to copy from
	target := func(name string, answer func(from string) int) string {
		return server(t, func(w http.ResponseWriter, r *http.Request) {
			var p meta.Pull
			json.NewDecoder(r.Body).Decode(&p)
			mu.Lock()
			asked[name] = append(asked[name], p.From)
			mu.Unlock()
			w.WriteHeader(answer(p.From))
		})
	}
	full := target("full", func(string) int { return http.StatusInsufficientStorage })
	picky := target("picky", func(from string) int {
		if from == good1 {
			return http.StatusBadGateway
		}
		return http.StatusCreated
	})
	c := New(Options{MetaURL: "http://meta.invalid", Log: slog.New(slog.DiscardHandler)})

	p := meta.Placement{Replicas: 3, Quorum: 2, Targets: []string{good1, full, picky, good2}}
	stored, _ := c.copyBetweenServers(context.Background(), p, h, 12, []string{short, good1, good2})
	assert.Equal(t, []string{good1, good2, picky}, stored, "short's copy is not counted")
	assert.Equal(t, map[string][]string{"full": {good1}, "picky": {good1, good2}}, asked)
}

// A copy between data servers is answered only once it is done, so no
// byte shows it is alive: a target that hangs is given up on after
// StallTimeout plus twice the blob's time at CopyRate (ErrStalled), not
// held until the caller gives up.
func TestCopyBetweenServersGivesUpOnAPullThatHangs(t *testing.T) {
	h := blob.Sum([]byte("twelve bytes"))
	good := server(t, func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Content-Length", "12") })
	asked := make(chan struct{})
	hangs := server(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // else the server never notices the client leave
		close(asked)
		<-r.Context().Done()
	})
	type timer struct {
		d    time.Duration
		fire func()
	}
	timers := make(chan timer, 4)
	c := New(Options{MetaURL: "http://meta.invalid", Log: slog.New(slog.DiscardHandler),
		StallTimeout: 30 * time.Second, CopyRate: 1,
		AfterFunc: func(d time.Duration, f func()) Timer {
			timers <- timer{d, f}
			return &fakeTimer{fire: f}
		}})

	p := meta.Placement{Replicas: 2, Quorum: 2, Targets: []string{good, hangs}}
	type result struct {
		stored []string
		err    error
	}
	done := make(chan result)
	go func() {
		stored, err := c.copyBetweenServers(context.Background(), p, h, 12, []string{good})
		done <- result{stored, err}
	}()
	tm := <-timers
	assert.Equal(t, 30*time.Second, tm.d, "the clock on asking good whether it holds the blob")
	tm = <-timers
	assert.Equal(t, 30*time.Second+24*time.Second, tm.d, "the pull's deadline")
	<-asked
	tm.fire()
	got := <-done
	assert.Equal(t, []string{good}, got.stored)
	assert.ErrorIs(t, got.err, ErrStalled)
}

func TestPullTimeoutDoesNotOverflow(t *testing.T) {
	assert.Equal(t, time.Duration(math.MaxInt64), pullTimeout(math.MaxInt64, 1, 30*time.Second))
	assert.Equal(t, 31*time.Second, pullTimeout(10<<20, 20<<20, 30*time.Second))
}

// A 422 says the source's bytes did not match the hash: its copy is bad
// (the metadata server's repair forgets a source for it), and the next
// source is tried, not the next target, which would ask the bad source
// first again.
func TestCopyBetweenServersTriesTheNextSourceAfterABadCopy(t *testing.T) {
	h := blob.Sum([]byte("twelve bytes"))
	holder := func() string {
		return server(t, func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Content-Length", "12") })
	}
	bad, good := holder(), holder()
	var asked []string
	target := server(t, func(w http.ResponseWriter, r *http.Request) {
		var p meta.Pull
		json.NewDecoder(r.Body).Decode(&p)
		asked = append(asked, p.From)
		if p.From == bad {
			w.WriteHeader(http.StatusUnprocessableEntity)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	c := New(Options{MetaURL: "http://meta.invalid", Log: slog.New(slog.DiscardHandler)})

	p := meta.Placement{Replicas: 3, Quorum: 3, Targets: []string{bad, good, target}}
	stored, _ := c.copyBetweenServers(context.Background(), p, h, 12, []string{bad, good})
	assert.Equal(t, []string{bad, good, target}, stored)
	assert.Equal(t, []string{bad, good}, asked)
}

// A server this write stored the blob on is asked (HEAD) whether it
// still holds it before the copies between servers; one that hangs on
// that question is given up on after StallTimeout, as an upload or a
// read is, and counted as not holding it: it would otherwise hold the
// write until its caller gives up.
func TestCopyBetweenServersGivesUpOnAHolderThatHangs(t *testing.T) {
	h := blob.Sum([]byte("twelve bytes"))
	good := server(t, func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Content-Length", "12") })
	asked := make(chan struct{})
	hangs := server(t, func(w http.ResponseWriter, r *http.Request) {
		close(asked)
		<-r.Context().Done()
	})
	target := server(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) })
	timers := make(chan *fakeTimer, 8)
	c := New(Options{MetaURL: "http://meta.invalid", Log: slog.New(slog.DiscardHandler),
		AfterFunc: func(_ time.Duration, f func()) Timer {
			ft := &fakeTimer{fire: f}
			timers <- ft
			return ft
		}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // with no clock on the question, the only way out

	p := meta.Placement{Replicas: 2, Quorum: 2, Targets: []string{good, target}}
	type result struct {
		stored []string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		stored, err := c.copyBetweenServers(ctx, p, h, 12, []string{hangs, good})
		done <- result{stored, err}
	}()
	<-asked
	waitFor(t, timers).expire() // the question to hangs: its clock runs out
	got := waitFor(t, done)
	assert.NoError(t, got.err)
	assert.Equal(t, []string{good, target}, got.stored, "hangs is not counted; target copied from good")
}
