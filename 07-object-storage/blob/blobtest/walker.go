package blobtest

import (
	"bytes"
	"errors"
	"maps"
	"strconv"
	"strings"
	"testing"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// walkerChecks run only on a store that is a blob.Walker. A data server
// lists its blobs with Walk for the metadata server's inventory, which
// garbage collection and repair trust, and for the scrubber: a blob
// missing from the list is never checked, one listed that is not stored
// is counted as a copy.
var walkerChecks = []struct {
	name string
	run  func(t *testing.T, s blob.Store, w blob.Walker)
}{
	{"WalkListsWhatIsStored", walkListsWhatIsStored},
	{"WalkSkipsWritesInProgress", walkSkipsWritesInProgress},
	{"WalkStopsAtTheFirstError", walkStopsAtTheFirstError},
}

// testWalker runs walkerChecks on fresh stores made by newStore, or
// skips them, saying why, if the store is not a blob.Walker.
func testWalker(t *testing.T, newStore func(t *testing.T) blob.Store) {
	if _, ok := newStore(t).(blob.Walker); !ok {
		t.Skip("the store is not a blob.Walker, so the checks of Walk are skipped: listing is optional (without it a data server sends no inventory and cannot scrub)")
	}
	for _, c := range walkerChecks {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			c.run(t, s, s.(blob.Walker))
		})
	}
}

// walked returns what Walk lists, failing t if it lists a blob twice.
func walked(t *testing.T, w blob.Walker) map[blob.Hash]int64 {
	t.Helper()
	got := map[blob.Hash]int64{}
	err := w.Walk(func(h blob.Hash, size int64) error {
		if _, twice := got[h]; twice {
			t.Errorf("Walk listed blob %s twice", h.Short())
		}
		got[h] = size
		return nil
	})
	if err != nil {
		t.Fatalf("Walk failed: %v", err)
	}
	return got
}

// Walk lists every stored blob with its size, the empty one too, and
// nothing a Put refused or Remove took away.
func walkListsWhatIsStored(t *testing.T, s blob.Store, w blob.Walker) {
	second := []byte("second")
	want := map[blob.Hash]int64{
		mustPut(t, s, hello):  int64(len(hello)),
		mustPut(t, s, second): int64(len(second)),
		mustPut(t, s, nil):    0,
	}
	removed := mustPut(t, s, []byte("removed"))
	if err := s.Remove(removed); err != nil {
		t.Fatalf("Remove of a stored blob: %v", err)
	}
	rejected := blob.Sum([]byte("rejected"))
	s.Put(rejected, strings.NewReader("not what was promised"))
	failed := blob.Sum([]byte("failed"))
	s.Put(failed, &brokenReader{})

	got := walked(t, w)
	if !maps.Equal(got, want) {
		t.Errorf("Walk listed %s; want %s (the blobs put, with their sizes: not one removed, one whose content did not match or one whose reader failed)",
			describe(got, removed, rejected, failed), describe(want, removed, rejected, failed))
	}
}

// describe names the blobs of m for a failure message.
func describe(m map[blob.Hash]int64, removed, rejected, failed blob.Hash) string {
	var b strings.Builder
	b.WriteString("[")
	for h, size := range m {
		name := h.Short()
		switch h {
		case removed:
			name = "the removed blob"
		case rejected:
			name = "the blob whose content did not match"
		case failed:
			name = "the blob whose reader failed"
		}
		if b.Len() > 1 {
			b.WriteString(", ")
		}
		b.WriteString(name + " (" + strconv.FormatInt(size, 10) + " bytes)")
	}
	return b.String() + "]"
}

// A blob being written is not listed: an inventory would offer the
// metadata server a copy that may never be complete.
func walkSkipsWritesInProgress(t *testing.T, s blob.Store, w blob.Walker) {
	data := bytes.Repeat([]byte("listed later "), 1000)
	h := blob.Sum(data)
	var got map[blob.Hash]int64
	duringPut(t, s, data, func() { got = walked(t, w) })
	if size, ok := got[h]; ok {
		t.Errorf("while half of a blob was written, Walk listed it (%d bytes): a blob must not be listed before all of it is stored", size)
	}
	if size, ok := walked(t, w)[h]; !ok || size != int64(len(data)) {
		t.Errorf("after the Put, Walk listed the blob: %t, with %d bytes; want it listed with %d", ok, size, len(data))
	}
}

var errStop = errors.New("stop here (test)")

// Walk stops at fn's first error and returns it, so that a caller can
// give up (a scrub whose context is done) without reading the rest.
func walkStopsAtTheFirstError(t *testing.T, s blob.Store, w blob.Walker) {
	mustPut(t, s, hello)
	mustPut(t, s, []byte("second"))
	mustPut(t, s, []byte("third"))
	calls := 0
	err := w.Walk(func(blob.Hash, int64) error { calls++; return errStop })
	if !errors.Is(err, errStop) {
		t.Errorf("Walk whose fn returned an error returned %v, want that error", err)
	}
	if calls != 1 {
		t.Errorf("of 3 blobs, Walk called fn %d times, though fn returned an error the first time; want once: Walk stops at fn's first error", calls)
	}
}
