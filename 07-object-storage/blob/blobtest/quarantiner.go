package blobtest

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// quarantinerChecks run only on a store that is a blob.Quarantiner. A
// data server sets a copy that fails its hash aside with Quarantine
// (with Remove if the store is not one), tells the metadata server the
// copy is gone, and takes the next upload of the blob as its repair. A
// copy still served after that is served damaged; one still counted
// makes Usage and the heartbeat lie; a store that will not take the
// blob again can never be repaired.
var quarantinerChecks = []struct {
	name string
	run  func(t *testing.T, s blob.Store, q blob.Quarantiner)
}{
	{"QuarantineMissing", quarantineMissing},
	{"QuarantineTakesTheBlobOutOfService", quarantineTakesOut},
	{"PutAfterQuarantine", putAfterQuarantine},
	{"ReaderOfAQuarantinedCopy", readerOfAQuarantinedCopy},
	{"QuarantinePutAndReadAtOnce", quarantinePutAndReadAtOnce},
}

// testQuarantiner runs quarantinerChecks on fresh stores made by
// newStore, or skips them, saying why, if the store is not a
// blob.Quarantiner.
func testQuarantiner(t *testing.T, newStore func(t *testing.T) blob.Store) {
	if _, ok := newStore(t).(blob.Quarantiner); !ok {
		t.Skip("the store is not a blob.Quarantiner, so the checks of Quarantine are skipped: it is optional (without it a data server removes a damaged copy instead of keeping it for a person to look at)")
	}
	for _, c := range quarantinerChecks {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			c.run(t, s, s.(blob.Quarantiner))
		})
	}
}

func quarantineMissing(t *testing.T, _ blob.Store, q blob.Quarantiner) {
	if err := q.Quarantine(helloSum); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Quarantine of a blob never put returned %v, want an error wrapping blob.ErrNotFound (a data server takes that as \"someone else got there first\")", err)
	}
}

// After Quarantine the blob is gone as far as every other call can tell:
// not served, not counted, not listed. Another blob is untouched.
func quarantineTakesOut(t *testing.T, s blob.Store, q blob.Quarantiner) {
	h := mustPut(t, s, hello)
	other := []byte("another blob")
	mustPut(t, s, other)
	if err := q.Quarantine(h); err != nil {
		t.Fatalf("Quarantine of a stored blob: %v", err)
	}
	if _, err := s.Stat(h); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("after Quarantine, Stat returned %v, want an error wrapping blob.ErrNotFound: a copy set aside as damaged would still be offered", err)
	}
	if r, err := s.Open(h); !errors.Is(err, blob.ErrNotFound) {
		if err == nil {
			r.Close()
		}
		t.Errorf("after Quarantine, Open returned %v, want an error wrapping blob.ErrNotFound: a copy set aside as damaged would still be served", err)
	}
	want := blob.Usage{Blobs: 1, Bytes: int64(len(other))}
	if u, err := s.Usage(); err != nil || u != want {
		t.Errorf("after Quarantine of one of two blobs, Usage = %+v, %v; want %+v, the other one only: a copy set aside is not counted", u, err, want)
	}
	if w, ok := s.(blob.Walker); ok {
		if size, listed := walked(t, w)[h]; listed {
			t.Errorf("after Quarantine, Walk listed the blob (%d bytes): an inventory would offer the metadata server a copy set aside as damaged", size)
		}
	}
	if got := readAll(t, s, blob.Sum(other)); !bytes.Equal(got, other) {
		t.Errorf("Quarantine of one blob changed another to %q", got)
	}
}

// A Put after Quarantine stores a fresh copy (the repair), and one
// quarantined again (damaged again) can be set aside again.
func putAfterQuarantine(t *testing.T, s blob.Store, q blob.Quarantiner) {
	h := mustPut(t, s, hello)
	for round := range 2 {
		if err := q.Quarantine(h); err != nil {
			t.Fatalf("Quarantine %d of a stored blob: %v", round+1, err)
		}
		mustPut(t, s, hello)
		if got := readAll(t, s, h); !bytes.Equal(got, hello) {
			t.Fatalf("a Put after Quarantine %d: the blob reads back as %q, want %q: a data server could never repair it", round+1, got, hello)
		}
		want := blob.Usage{Blobs: 1, Bytes: int64(len(hello))}
		if u, err := s.Usage(); err != nil || u != want {
			t.Errorf("a Put after Quarantine %d: Usage = %+v, %v; want %+v", round+1, u, err, want)
		}
	}
}

// A GET in progress when its copy is set aside and replaced reads the
// copy it opened to the end, never an error or a mix with the new one.
func readerOfAQuarantinedCopy(t *testing.T, s blob.Store, q blob.Quarantiner) {
	data := bytes.Repeat([]byte("read me to the end "), 1000)
	h := mustPut(t, s, data)
	r, err := s.Open(h)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer r.Close()
	first := make([]byte, len(data)/2)
	if _, err := io.ReadFull(r, first); err != nil {
		t.Fatalf("reading half of a stored blob: %v", err)
	}
	if err := q.Quarantine(h); err != nil {
		t.Fatalf("Quarantine of a stored blob: %v", err)
	}
	mustPut(t, s, data)
	rest, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(append(first, rest...), data) {
		t.Errorf("a reader that had read half of a blob when it was quarantined and put again read on %d bytes, %v; want the other %d bytes of the copy it opened", len(rest), err, len(data)-len(first))
	}
}

// Quarantine, Put and Open of one blob from several goroutines at once:
// a damaged copy found by a scrub while an upload repairs it and clients
// read it. Under -race this fails a store whose Quarantine does not lock
// what Put and Usage share. Afterwards the count agrees with Stat.
func quarantinePutAndReadAtOnce(t *testing.T, s blob.Store, q blob.Quarantiner) {
	h := mustPut(t, s, hello)
	const each = 20
	var wg sync.WaitGroup
	putErrs, quarantineErrs, readErrs := make(chan error, each), make(chan error, each), make(chan error, each)
	wg.Go(func() {
		for range each {
			if _, err := s.Put(h, bytes.NewReader(hello)); err != nil {
				putErrs <- err
			}
		}
	})
	wg.Go(func() {
		for range each {
			if err := q.Quarantine(h); err != nil && !errors.Is(err, blob.ErrNotFound) {
				quarantineErrs <- err
			}
		}
	})
	wg.Go(func() {
		for range each {
			r, err := s.Open(h)
			if errors.Is(err, blob.ErrNotFound) {
				continue
			}
			if err != nil {
				readErrs <- err
				continue
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(got, hello) {
				readErrs <- errors.New("read " + string(got))
			}
		}
	})
	wg.Wait()
	close(putErrs)
	close(quarantineErrs)
	close(readErrs)
	for err := range putErrs {
		t.Errorf("a Put while the blob was being quarantined failed: %v", err)
	}
	for err := range quarantineErrs {
		t.Errorf("a Quarantine while the blob was being put failed: %v (ErrNotFound is fine)", err)
	}
	for err := range readErrs {
		t.Errorf("a reader opened while the blob was being quarantined and put failed: %v; want the whole blob", err)
	}
	want := blob.Usage{}
	if _, err := s.Stat(h); err == nil {
		want = blob.Usage{Blobs: 1, Bytes: int64(len(hello))}
	}
	if u, err := s.Usage(); err != nil || u != want {
		t.Errorf("after Puts and Quarantines of one blob at once, Usage = %+v, %v; want %+v (what Stat finds)", u, err, want)
	}
}
