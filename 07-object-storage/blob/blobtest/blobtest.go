// Package blobtest checks that a blob.Store keeps the contract a data
// server relies on. Run it on your own store from a test:
//
//	func TestMyStore(t *testing.T) {
//		blobtest.TestStore(t, func(t *testing.T) blob.Store { return NewMyStore() })
//	}
//
// Each subtest says in plain words what the store did wrong. A store
// that is also a blob.Stamper is checked as one in the subtest Stamper,
// one that is a blob.Walker in the subtest Walker, and one that is a
// blob.Quarantiner in the subtest Quarantiner; for any other store such
// a subtest is skipped (go test -v shows "--- SKIP" and why).
// Run it with
// -race: whether a store is safe for concurrent use is for the race
// detector to say, and the subtests that use a store from several
// goroutines cannot say it without.
package blobtest

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// TestStore runs every check on fresh stores made by newStore, and, in
// the subtests Stamper, Walker and Quarantiner, the checks of a
// blob.Stamper, a blob.Walker and a blob.Quarantiner if the store is one
// (it skips them, saying why, if not).
func TestStore(t *testing.T, newStore func(t *testing.T) blob.Store) {
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.run(t, newStore(t)) })
	}
	t.Run("Stamper", func(t *testing.T) { testStamper(t, newStore) })
	t.Run("Walker", func(t *testing.T) { testWalker(t, newStore) })
	t.Run("Quarantiner", func(t *testing.T) { testQuarantiner(t, newStore) })
}

var checks = []struct {
	name string
	run  func(t *testing.T, s blob.Store)
}{
	{"PutThenOpen", putThenOpen},
	{"EmptyBlob", emptyBlob},
	{"OpenMissing", openMissing},
	{"WrongContent", wrongContent},
	{"ReaderFails", readerFails},
	{"InvisibleWhileWritten", invisibleWhileWritten},
	{"PutTwice", putTwice},
	{"PutTwiceWrongContent", putTwiceWrongContent},
	{"Seek", seek},
	{"ReadersAreIndependent", readersAreIndependent},
	{"Remove", remove},
	{"Usage", usage},
	{"ConcurrentPuts", concurrentPuts},
	{"ConcurrentUse", concurrentUse},
}

var (
	hello    = []byte("hello, object store\n")
	helloSum = blob.Sum(hello)
)

func mustPut(t *testing.T, s blob.Store, data []byte) blob.Hash {
	t.Helper()
	h := blob.Sum(data)
	n, err := s.Put(h, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Put of %d bytes with their correct hash failed: %v", len(data), err)
	}
	if n != int64(len(data)) {
		t.Errorf("Put read %d bytes, want %d", n, len(data))
	}
	return h
}

func readAll(t *testing.T, s blob.Store, h blob.Hash) []byte {
	t.Helper()
	r, err := s.Open(h)
	if err != nil {
		t.Fatalf("Open of a stored blob failed: %v", err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading a stored blob failed: %v", err)
	}
	if r.Size() != int64(len(data)) {
		t.Errorf("Reader.Size() = %d, but %d bytes could be read", r.Size(), len(data))
	}
	return data
}

func putThenOpen(t *testing.T, s blob.Store) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 10_000) // bigger than any single buffer
	h := mustPut(t, s, data)
	if got := readAll(t, s, h); !bytes.Equal(got, data) {
		t.Errorf("Open returned %d bytes that differ from the %d bytes put", len(got), len(data))
	}
	if size, err := s.Stat(h); err != nil || size != int64(len(data)) {
		t.Errorf("Stat = %d, %v; want %d, nil", size, err, len(data))
	}
}

func emptyBlob(t *testing.T, s blob.Store) {
	h := mustPut(t, s, nil)
	if got := readAll(t, s, h); len(got) != 0 {
		t.Errorf("the empty blob read back as %d bytes", len(got))
	}
}

func openMissing(t *testing.T, s blob.Store) {
	if _, err := s.Open(helloSum); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open of a blob never put returned %v, want an error wrapping blob.ErrNotFound", err)
	}
	if _, err := s.Stat(helloSum); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat of a blob never put returned %v, want an error wrapping blob.ErrNotFound", err)
	}
}

func assertAbsent(t *testing.T, s blob.Store, h blob.Hash, after string) {
	t.Helper()
	// A Stat that found the blob means the store kept it; one that failed
	// otherwise than with blob.ErrNotFound (an error that does not wrap
	// it, the first thing a new store gets wrong) is a different mistake,
	// and is named as one.
	switch _, err := s.Stat(h); {
	case err == nil:
		t.Errorf("after %s, Stat returned <nil>: the store kept something it should not have", after)
	case !errors.Is(err, blob.ErrNotFound):
		t.Errorf("after %s, Stat returned %v, want an error wrapping blob.ErrNotFound", after, err)
	}
	switch r, err := s.Open(h); {
	case err == nil:
		r.Close()
		t.Errorf("after %s, Open returned <nil>, want an error wrapping blob.ErrNotFound: a reader could get bytes the store should not have (a cache that outlived the blob?)", after)
	case !errors.Is(err, blob.ErrNotFound):
		t.Errorf("after %s, Open returned %v, want an error wrapping blob.ErrNotFound", after, err)
	}
	switch u, err := s.Usage(); {
	case err != nil:
		t.Errorf("after %s, Usage failed: %v", after, err)
	case u != (blob.Usage{}):
		t.Errorf("after %s, Usage = %+v; want nothing stored", after, u)
	}
}

func wrongContent(t *testing.T, s blob.Store) {
	_, err := s.Put(helloSum, strings.NewReader("goodbye"))
	if !errors.Is(err, blob.ErrDigestMismatch) {
		t.Errorf("Put of content that does not match its hash returned %v, want an error wrapping blob.ErrDigestMismatch", err)
	}
	assertAbsent(t, s, helloSum, "a Put with the wrong content")
}

var errBroken = errors.New("connection reset (test)")

// brokenReader gives some bytes, then fails: a client that went away.
type brokenReader struct{ sent bool }

func (r *brokenReader) Read(p []byte) (int, error) {
	if r.sent {
		return 0, errBroken
	}
	r.sent = true
	return copy(p, hello[:5]), nil
}

func readerFails(t *testing.T, s blob.Store) {
	_, err := s.Put(helloSum, &brokenReader{})
	if !errors.Is(err, errBroken) {
		t.Errorf("Put from a reader that failed returned %v, want the reader's error", err)
	}
	assertAbsent(t, s, helloSum, "a Put whose reader failed half way")
}

// pausingReader gives the first half of data, then waits for resume
// before it gives the rest; paused is closed when the writer has taken
// the first half and asks for more.
type pausingReader struct {
	data           []byte
	off            int
	didPause       bool
	paused, resume chan struct{}
}

func (r *pausingReader) Read(p []byte) (int, error) {
	half := len(r.data) / 2
	if r.off == half && !r.didPause {
		r.didPause = true
		close(r.paused)
		<-r.resume
	}
	end := len(r.data)
	if r.off < half {
		end = half
	}
	if r.off == len(r.data) {
		return 0, io.EOF
	}
	n := copy(p, r.data[r.off:end])
	r.off += n
	return n, nil
}

// stall is how long duringPut lets the checks it runs wait for a Put
// that is itself waiting for them. A store that answers them at once
// takes microseconds; one that holds a lock while Put reads never
// answers, and the suite would hang until go test's timeout without
// saying why.
const stall = 10 * time.Second

// duringPut runs check while a Put of data is stopped half way, waiting
// for its reader, then lets the Put finish. check should only record
// what it sees, for the caller to judge once duringPut returns: it may
// have run on only after the Put was let go (see stall), and then
// duringPut fails t, saying so, and does not return.
func duringPut(t *testing.T, s blob.Store, data []byte, check func()) {
	t.Helper()
	r := &pausingReader{data: data, paused: make(chan struct{}), resume: make(chan struct{})}
	var once sync.Once
	resume := func() { once.Do(func() { close(r.resume) }) }
	defer resume() // also if check stops t
	done := make(chan error, 1)
	go func() { _, err := s.Put(blob.Sum(data), r); done <- err }()
	select {
	case <-r.paused:
	case err := <-done:
		resume()
		t.Fatalf("Put returned %v before it read the whole blob", err)
	}
	watchdog := time.AfterFunc(stall, resume)
	check()
	stalled := !watchdog.Stop()
	resume()
	err := <-done
	if stalled {
		t.Fatalf("while a Put waited for the second half of its blob, the store's other calls did not return for %v: does Put hold a lock while it reads? Then one slow client stops every read and write", stall)
	}
	if err != nil {
		t.Fatalf("Put failed once the rest arrived: %v", err)
	}
}

// A blob being written is not there yet: a data server asked for it
// mid-upload must answer 404, never the part written so far.
func invisibleWhileWritten(t *testing.T, s blob.Store) {
	data := bytes.Repeat([]byte("half now, half later "), 1000)
	h := blob.Sum(data)
	var statErr, openErr error
	duringPut(t, s, data, func() {
		_, statErr = s.Stat(h)
		var br blob.Reader
		if br, openErr = s.Open(h); openErr == nil {
			br.Close()
		}
	})
	if !errors.Is(statErr, blob.ErrNotFound) {
		t.Errorf("while half of a blob was written, Stat returned %v, want an error wrapping blob.ErrNotFound: a blob must not be visible before all of it is stored", statErr)
	}
	if !errors.Is(openErr, blob.ErrNotFound) {
		t.Errorf("while half of a blob was written, Open returned %v, want an error wrapping blob.ErrNotFound: a reader could get part of the blob", openErr)
	}
	if got := readAll(t, s, h); !bytes.Equal(got, data) {
		t.Errorf("after the Put, the blob read back as %d bytes that differ from the %d put", len(got), len(data))
	}
}

func putTwice(t *testing.T, s blob.Store) {
	mustPut(t, s, hello)
	mustPut(t, s, hello)
	if got := readAll(t, s, helloSum); !bytes.Equal(got, hello) {
		t.Errorf("after putting a blob twice it reads back as %q, want %q", got, hello)
	}
	if u, _ := s.Usage(); u.Blobs != 1 || u.Bytes != int64(len(hello)) {
		t.Errorf("after putting one blob twice, Usage = %+v; want 1 blob of %d bytes", u, len(hello))
	}
}

func putTwiceWrongContent(t *testing.T, s blob.Store) {
	mustPut(t, s, hello)
	if _, err := s.Put(helloSum, strings.NewReader("evil")); !errors.Is(err, blob.ErrDigestMismatch) {
		t.Errorf("a second Put with the wrong content returned %v, want ErrDigestMismatch even though the blob exists", err)
	}
	if got := readAll(t, s, helloSum); !bytes.Equal(got, hello) {
		t.Errorf("a rejected Put changed a stored blob to %q", got)
	}
}

// seek checks Seek as http.ServeContent uses it to answer a Range
// request: it seeks to the end to learn the size, then to the range's
// start, and reads. A Seek that ignores whence tells it the blob is
// empty; one that lets Read go on past the end serves bytes that are not
// the blob's. A Seek before the start is an error, as io.Seeker says.
func seek(t *testing.T, s blob.Store) {
	h := mustPut(t, s, hello) // "hello, object store\n"
	r, err := s.Open(h)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer r.Close()
	steps := []struct {
		offset int64
		whence int
		name   string
		pos    int64  // where Seek must land
		want   string // what reading to the end from there gives
	}{
		{0, io.SeekEnd, "io.SeekEnd", int64(len(hello)), ""},
		{7, io.SeekStart, "io.SeekStart", 7, "object store\n"},
		{-6, io.SeekCurrent, "io.SeekCurrent", int64(len(hello)) - 6, "store\n"},
		{-13, io.SeekEnd, "io.SeekEnd", 7, "object store\n"},
		{100, io.SeekStart, "io.SeekStart", 100, ""},
	}
	for _, st := range steps {
		pos, err := r.Seek(st.offset, st.whence)
		if err != nil || pos != st.pos {
			t.Errorf("Seek(%d, %s) = %d, %v; want %d, nil (http.ServeContent answers Range requests with Seek)", st.offset, st.name, pos, err, st.pos)
			return
		}
		got, err := io.ReadAll(r)
		if err != nil || string(got) != st.want {
			t.Errorf("after Seek(%d, %s) to %d, reading to the end gave %q, %v; want %q", st.offset, st.name, pos, got, err, st.want)
			return
		}
	}
	if pos, err := r.Seek(-1, io.SeekStart); err == nil {
		t.Errorf("Seek(-1, io.SeekStart) = %d, %v; want an error: a position before the start is none (see io.Seeker), and one taken as 0 would serve bytes from the wrong place", pos, err)
	}
}

// Each Open returns a reader of its own, at the blob's start: a data
// server serves two GETs of one blob at once, and its scrubber reads a
// blob again from the start every round. A store that keeps one reader
// per blob, and hands it to every Open, gives the second one what the
// first left.
func readersAreIndependent(t *testing.T, s blob.Store) {
	h := mustPut(t, s, hello)
	first, err := s.Open(h)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer first.Close()
	head := make([]byte, 7)
	if _, err := io.ReadFull(first, head); err != nil {
		t.Fatalf("reading 7 bytes of a stored blob: %v", err)
	}
	second, err := s.Open(h)
	if err != nil {
		t.Fatalf("a second Open of a blob already open failed: %v", err)
	}
	got, err := io.ReadAll(second)
	second.Close()
	if err != nil || !bytes.Equal(got, hello) {
		t.Errorf("a second Open, while the first reader had read 7 bytes, read %q, %v; want the whole blob, %q: each Open must return a reader of its own", got, err, hello)
	}
	rest, err := io.ReadAll(first)
	if err != nil || string(rest) != string(hello[7:]) {
		t.Errorf("after a second reader read the blob and was closed, the first read on %q, %v; want %q, the rest of its blob", rest, err, hello[7:])
	}
}

func remove(t *testing.T, s blob.Store) {
	h := mustPut(t, s, hello)
	if err := s.Remove(h); err != nil {
		t.Fatalf("Remove of a stored blob: %v", err)
	}
	assertAbsent(t, s, h, "Remove")
	if err := s.Remove(h); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("removing a missing blob returned %v, want blob.ErrNotFound", err)
	}
}

func usage(t *testing.T, s blob.Store) {
	mustPut(t, s, hello)
	mustPut(t, s, []byte("second"))
	u, err := s.Usage()
	want := blob.Usage{Blobs: 2, Bytes: int64(len(hello) + len("second"))}
	if err != nil || u != want {
		t.Errorf("Usage = %+v, %v; want %+v", u, err, want)
	}
}

func concurrentPuts(t *testing.T, s blob.Store) {
	data := bytes.Repeat([]byte("same bytes "), 5000)
	h := blob.Sum(data)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { _, errs[i] = s.Put(h, bytes.NewReader(data)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent Put %d of the same blob failed: %v", i, err)
		}
	}
	if got := readAll(t, s, h); !bytes.Equal(got, data) {
		t.Errorf("after concurrent Puts of one blob it reads back wrong (%d bytes, want %d)", len(got), len(data))
	}
	if u, _ := s.Usage(); u.Blobs != 1 {
		t.Errorf("after 8 concurrent Puts of one blob, Usage says %d blobs, want 1", u.Blobs)
	}
}

// concurrentUse puts different blobs from several goroutines while others
// Stat, Open and count: what a data server does all day. Only go test
// -race sees every unsynchronised access (a Put that locks and an Open
// that does not, say); without it a store that shares a map or a slice
// without a lock fails here only when the goroutines happen to collide.
func concurrentUse(t *testing.T, s blob.Store) {
	const writers, each = 4, 8
	blobOf := func(w, i int) []byte { return []byte("blob " + strconv.Itoa(w) + "/" + strconv.Itoa(i)) }
	first := mustPut(t, s, hello)
	errs := make([]error, writers)
	done := make(chan struct{})
	var readers, wg sync.WaitGroup
	for range writers {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				s.Stat(first)
				s.Usage()
				if r, err := s.Open(first); err == nil {
					io.Copy(io.Discard, r)
					r.Close()
				}
			}
		})
	}
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				data := blobOf(w, i)
				if _, err := s.Put(blob.Sum(data), bytes.NewReader(data)); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()
	for w, err := range errs {
		if err != nil {
			t.Fatalf("Put from writer %d of %d running at once failed: %v", w, writers, err)
		}
	}
	lost := 0
	for w := range writers {
		for i := range each {
			data := blobOf(w, i)
			r, err := s.Open(blob.Sum(data))
			if err != nil {
				lost++
				continue
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(got, data) {
				lost++
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d blobs put by %d goroutines at once read back wrong: is the store safe for concurrent use?", lost, writers*each, writers)
	}
	if u, err := s.Usage(); err != nil || u.Blobs != writers*each+1 {
		t.Errorf("after %d blobs were put by %d goroutines at once, Usage = %+v, %v; want %d blobs", writers*each+1, writers, u, err, writers*each+1)
	}
}
