package blobtest_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/blob/blobtest"
)

// Stores that each break one promise of blob.Store, as a learner's store
// might: a blob.Disk with one thing wrong. The suite is worth running
// only if it fails every one of them.

// memReader serves bytes held in memory as a blob.Reader.
type memReader struct{ *bytes.Reader }

func (memReader) Close() error { return nil }

// readerWith wraps every Reader that Open returns.
type readerWith struct {
	*blob.Disk
	wrap func(blob.Reader) blob.Reader
}

func (s readerWith) Open(h blob.Hash) (blob.Reader, error) {
	r, err := s.Disk.Open(h)
	if err != nil {
		return nil, err
	}
	return s.wrap(r), nil
}

// flipsAByte hands out a blob with its first byte changed.
type flipsAByte struct {
	blob.Reader
	off int64
}

func (r *flipsAByte) Read(p []byte) (int, error) {
	n, err := r.Reader.Read(p)
	if r.off == 0 && n > 0 {
		p[0] ^= 1
	}
	r.off += int64(n)
	return n, err
}

func (r *flipsAByte) Seek(offset int64, whence int) (int64, error) {
	pos, err := r.Reader.Seek(offset, whence)
	r.off = pos
	return pos, err
}

// seeksFromTheStart takes every offset as one from the start.
type seeksFromTheStart struct{ blob.Reader }

func (r seeksFromTheStart) Seek(offset int64, _ int) (int64, error) {
	return r.Reader.Seek(offset, io.SeekStart)
}

// clampsSeeks stops at the start a Seek that would go before it.
type clampsSeeks struct{ blob.Reader }

func (r clampsSeeks) Seek(offset int64, whence int) (int64, error) {
	pos, err := r.Reader.Seek(offset, whence)
	if err != nil {
		return r.Reader.Seek(0, io.SeekStart)
	}
	return pos, nil
}

// sizeOffByOne reports one byte more than the blob has.
type sizeOffByOne struct{ blob.Reader }

func (r sizeOffByOne) Size() int64 { return r.Reader.Size() + 1 }

// putWith replaces Put.
type putWith struct {
	*blob.Disk
	put func(d *blob.Disk, h blob.Hash, r io.Reader) (int64, error)
}

func (s putWith) Put(h blob.Hash, r io.Reader) (int64, error) { return s.put(s.Disk, h, r) }

// overlay is a Disk plus blobs held in memory that Stat, Open and Usage
// see as stored: what a store that kept bytes it should not have shows.
// A Put first copies what it reads into the overlay, as one that writes
// to the final name shows it while it writes; keepFailed keeps that copy
// when the Put fails, otherwise it is dropped when Put returns.
type overlay struct {
	*blob.Disk
	keepFailed bool
	mu         sync.Mutex
	mem        map[blob.Hash][]byte
}

func newOverlay(d *blob.Disk, keepFailed bool) *overlay {
	return &overlay{Disk: d, keepFailed: keepFailed, mem: map[blob.Hash][]byte{}}
}

type overlayWriter struct {
	o *overlay
	h blob.Hash
}

func (w overlayWriter) Write(p []byte) (int, error) {
	w.o.mu.Lock()
	defer w.o.mu.Unlock()
	w.o.mem[w.h] = append(w.o.mem[w.h], p...)
	return len(p), nil
}

func (o *overlay) Put(h blob.Hash, r io.Reader) (int64, error) {
	if _, err := o.Disk.Stat(h); err == nil {
		return o.Disk.Put(h, r)
	}
	n, err := o.Disk.Put(h, io.TeeReader(r, overlayWriter{o, h}))
	if err == nil || !o.keepFailed {
		o.mu.Lock()
		delete(o.mem, h)
		o.mu.Unlock()
	}
	return n, err
}

func (o *overlay) held(h blob.Hash) ([]byte, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	b, ok := o.mem[h]
	return b, ok
}

func (o *overlay) Stat(h blob.Hash) (int64, error) {
	if b, ok := o.held(h); ok {
		return int64(len(b)), nil
	}
	return o.Disk.Stat(h)
}

func (o *overlay) Open(h blob.Hash) (blob.Reader, error) {
	if b, ok := o.held(h); ok {
		return memReader{bytes.NewReader(b)}, nil
	}
	return o.Disk.Open(h)
}

func (o *overlay) Usage() (blob.Usage, error) {
	u, err := o.Disk.Usage()
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, b := range o.mem {
		u.Blobs++
		u.Bytes += int64(len(b))
	}
	return u, err
}

// tally counts Usage itself, adding what each Put reads and taking off
// what Remove removes; countRepeats counts a blob put again as another.
type tally struct {
	*blob.Disk
	countRepeats, forgetRemoved bool
	mu                          sync.Mutex
	u                           blob.Usage
}

func (t *tally) Put(h blob.Hash, r io.Reader) (int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, missing := t.Disk.Stat(h)
	n, err := t.Disk.Put(h, r)
	if err == nil && (missing != nil || t.countRepeats) {
		t.u.Blobs++
		t.u.Bytes += n
	}
	return n, err
}

func (t *tally) Remove(h blob.Hash) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	size, _ := t.Disk.Stat(h)
	err := t.Disk.Remove(h)
	if err == nil && !t.forgetRemoved {
		t.u.Blobs--
		t.u.Bytes -= size
	}
	return err
}

func (t *tally) Usage() (blob.Usage, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.u, nil
}

// oneReaderPerBlob hands every Open of a blob the same reader.
type oneReaderPerBlob struct {
	*blob.Disk
	mu   sync.Mutex
	open map[blob.Hash]blob.Reader
}

type neverClosed struct{ blob.Reader }

func (neverClosed) Close() error { return nil }

func (s *oneReaderPerBlob) Open(h blob.Hash) (blob.Reader, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.open[h]; ok {
		return r, nil
	}
	r, err := s.Disk.Open(h)
	if err != nil {
		return nil, err
	}
	s.open[h] = neverClosed{r}
	return s.open[h], nil
}

// cachesReads serves Open from a copy of each blob kept at Put, which
// Remove forgets to drop. It is a blob.Store and no more: a Quarantiner's
// checks would catch it too.
type cachesReads struct {
	blob.Store
	mu    sync.Mutex
	cache map[blob.Hash][]byte
}

func (c *cachesReads) Put(h blob.Hash, r io.Reader) (int64, error) {
	var b bytes.Buffer
	n, err := c.Store.Put(h, io.TeeReader(r, &b))
	if err == nil {
		c.mu.Lock()
		c.cache[h] = b.Bytes()
		c.mu.Unlock()
	}
	return n, err
}

func (c *cachesReads) Open(h blob.Hash) (blob.Reader, error) {
	c.mu.Lock()
	b, ok := c.cache[h]
	c.mu.Unlock()
	if ok {
		return memReader{bytes.NewReader(b)}, nil
	}
	return c.Store.Open(h)
}

// walkWith replaces Walk.
type walkWith struct {
	*blob.Disk
	walk func(d *blob.Disk, fn func(blob.Hash, int64) error) error
}

func (s walkWith) Walk(fn func(blob.Hash, int64) error) error { return s.walk(s.Disk, fn) }

var errNoSuchFile = errors.New("no such file")

// broken names each broken store, what check of the suite must fail on
// it, and words its message must hold.
var broken = map[string]struct {
	store     func(d *blob.Disk) blob.Store
	check     string
	saysWords string
}{
	"servesOtherBytes": {
		func(d *blob.Disk) blob.Store {
			return readerWith{d, func(r blob.Reader) blob.Reader { return &flipsAByte{Reader: r} }}
		},
		"PutThenOpen", "Open returned 160000 bytes that differ from the 160000 bytes put",
	},
	"acceptsAWrongDigest": {
		func(d *blob.Disk) blob.Store {
			return putWith{d, func(d *blob.Disk, h blob.Hash, r io.Reader) (int64, error) {
				n, err := d.Put(h, r)
				if errors.Is(err, blob.ErrDigestMismatch) {
					return n, nil
				}
				return n, err
			}}
		},
		"WrongContent", "Put of content that does not match its hash returned <nil>",
	},
	"keepsWhatItRefused": {
		func(d *blob.Disk) blob.Store { return newOverlay(d, true) },
		"WrongContent", "after a Put with the wrong content, Stat returned <nil>",
	},
	"keepsAFailedWrite": {
		func(d *blob.Disk) blob.Store { return newOverlay(d, true) },
		"ReaderFails", "after a Put whose reader failed half way, Stat returned <nil>",
	},
	"showsAPartialWrite": {
		func(d *blob.Disk) blob.Store { return newOverlay(d, false) },
		"InvisibleWhileWritten", "while half of a blob was written, Open returned <nil>",
	},
	"hidesTheReadersError": {
		func(d *blob.Disk) blob.Store {
			return putWith{d, func(d *blob.Disk, h blob.Hash, r io.Reader) (int64, error) {
				n, err := d.Put(h, r)
				if err != nil && !errors.Is(err, blob.ErrDigestMismatch) {
					return n, fmt.Errorf("upload failed: %v", err)
				}
				return n, err
			}}
		},
		"ReaderFails", "Put from a reader that failed returned upload failed",
	},
	"skipsTheCheckOnARepeat": {
		func(d *blob.Disk) blob.Store {
			return putWith{d, func(d *blob.Disk, h blob.Hash, r io.Reader) (int64, error) {
				if _, err := d.Stat(h); err == nil {
					return io.Copy(io.Discard, r)
				}
				return d.Put(h, r)
			}}
		},
		"PutTwiceWrongContent", "a second Put with the wrong content returned <nil>",
	},
	"countsBytesReadWrong": {
		func(d *blob.Disk) blob.Store {
			return putWith{d, func(d *blob.Disk, h blob.Hash, r io.Reader) (int64, error) {
				_, err := d.Put(h, r)
				return 0, err
			}}
		},
		"PutThenOpen", "Put read 0 bytes, want 160000",
	},
	"dropsTheEmptyBlob": {
		func(d *blob.Disk) blob.Store {
			return putWith{d, func(d *blob.Disk, h blob.Hash, r io.Reader) (int64, error) {
				if h == blob.Sum(nil) {
					return 0, nil
				}
				return d.Put(h, r)
			}}
		},
		"EmptyBlob", "Open of a stored blob failed",
	},
	"notFoundUnwrapped": {
		func(d *blob.Disk) blob.Store { return notFoundUnwrapped{d} },
		"OpenMissing", "Open of a blob never put returned no such file",
	},
	"statNotFoundUnwrapped": {
		func(d *blob.Disk) blob.Store { return statNotFoundUnwrapped{d} },
		"WrongContent", "after a Put with the wrong content, Stat returned no such file, want an error wrapping blob.ErrNotFound",
	},
	"openNotFoundUnwrapped": {
		func(d *blob.Disk) blob.Store { return notFoundUnwrapped{d} },
		// The line ends there: no word of bytes a reader could get.
		"WrongContent", "after a Put with the wrong content, Open returned no such file, want an error wrapping blob.ErrNotFound\n",
	},
	"usageFails": {
		func(d *blob.Disk) blob.Store { return usageFails{d} },
		"ReaderFails", "after a Put whose reader failed half way, Usage failed: usage unknown",
	},
	"statSaysZero": {
		func(d *blob.Disk) blob.Store { return statSaysZero{d} },
		"PutThenOpen", "Stat = 0, <nil>; want 160000, nil",
	},
	"sizeOffByOne": {
		func(d *blob.Disk) blob.Store {
			return readerWith{d, func(r blob.Reader) blob.Reader { return sizeOffByOne{r} }}
		},
		"PutThenOpen", "Reader.Size() = 160001, but 160000 bytes could be read",
	},
	"seeksFromTheStart": {
		func(d *blob.Disk) blob.Store {
			return readerWith{d, func(r blob.Reader) blob.Reader { return seeksFromTheStart{r} }}
		},
		"Seek", "Seek(0, io.SeekEnd) = 0, <nil>; want 20, nil",
	},
	"clampsSeeksBeforeTheStart": {
		func(d *blob.Disk) blob.Store {
			return readerWith{d, func(r blob.Reader) blob.Reader { return clampsSeeks{r} }}
		},
		"Seek", "Seek(-1, io.SeekStart) = 0, <nil>; want an error",
	},
	"oneReaderPerBlob": {
		func(d *blob.Disk) blob.Store { return &oneReaderPerBlob{Disk: d, open: map[blob.Hash]blob.Reader{}} },
		"ReadersAreIndependent", "a second Open, while the first reader had read 7 bytes",
	},
	"countsEveryPut": {
		func(d *blob.Disk) blob.Store { return &tally{Disk: d, countRepeats: true} },
		"PutTwice", "after putting one blob twice, Usage = {Blobs:2 Bytes:40}",
	},
	"countsRemovedBlobs": {
		func(d *blob.Disk) blob.Store { return &tally{Disk: d, forgetRemoved: true} },
		"Remove", "after Remove, Usage = {Blobs:1 Bytes:20}",
	},
	"removingNothingIsFine": {
		func(d *blob.Disk) blob.Store { return removeMissingIsFine{d} },
		"Remove", "removing a missing blob returned <nil>, want blob.ErrNotFound",
	},
	"servesARemovedBlob": {
		func(d *blob.Disk) blob.Store { return &cachesReads{Store: d, cache: map[blob.Hash][]byte{}} },
		"Remove", "after Remove, Open returned <nil>, want an error wrapping blob.ErrNotFound",
	},
	"walkLeavesOutTheEmptyBlob": {
		func(d *blob.Disk) blob.Store {
			return walkWith{d, func(d *blob.Disk, fn func(blob.Hash, int64) error) error {
				return d.Walk(func(h blob.Hash, size int64) error {
					if size == 0 {
						return nil
					}
					return fn(h, size)
				})
			}}
		},
		"Walker/WalkListsWhatIsStored", "Walk listed [",
	},
	"walkSizeOffByOne": {
		func(d *blob.Disk) blob.Store {
			return walkWith{d, func(d *blob.Disk, fn func(blob.Hash, int64) error) error {
				return d.Walk(func(h blob.Hash, size int64) error { return fn(h, size+1) })
			}}
		},
		"Walker/WalkListsWhatIsStored", "Walk listed [",
	},
	"walkListsAWriteInProgress": {
		func(d *blob.Disk) blob.Store { return walksWhatItHolds{newOverlay(d, false)} },
		"Walker/WalkSkipsWritesInProgress", "while half of a blob was written, Walk listed it",
	},
	"StamperRemovesWhatever": {
		func(d *blob.Disk) blob.Store { return removesWhatever{d} },
		"Stamper/RemoveStamped", "RemoveStamped with the stamp from before a Touch returned <nil>, want an error wrapping blob.ErrStampChanged",
	},
	"StamperTouchStandsStill": {
		func(d *blob.Disk) blob.Store { return touchStandsStill{d} },
		"Stamper/TouchMovesForward", "a stamp must move strictly forward",
	},
	"walkGoesOnAfterAnError": {
		func(d *blob.Disk) blob.Store {
			return walkWith{d, func(d *blob.Disk, fn func(blob.Hash, int64) error) error {
				var first error
				d.Walk(func(h blob.Hash, size int64) error {
					if err := fn(h, size); err != nil && first == nil {
						first = err
					}
					return nil
				})
				return first
			}}
		},
		"Walker/WalkStopsAtTheFirstError", "of 3 blobs, Walk called fn 3 times",
	},
}

// walksWhatItHolds lists, as Walk, what its overlay holds too.
type walksWhatItHolds struct{ *overlay }

func (w walksWhatItHolds) Walk(fn func(blob.Hash, int64) error) error {
	if err := w.Disk.Walk(fn); err != nil {
		return err
	}
	w.mu.Lock()
	held := map[blob.Hash]int64{}
	for h, b := range w.mem {
		held[h] = int64(len(b))
	}
	w.mu.Unlock()
	for h, size := range held {
		if err := fn(h, size); err != nil {
			return err
		}
	}
	return nil
}

// removesWhatever removes a blob whatever stamp RemoveStamped names.
type removesWhatever struct{ *blob.Disk }

func (s removesWhatever) RemoveStamped(h blob.Hash, _ int64) error { return s.Remove(h) }

// touchStandsStill returns the stamp a blob has and leaves it.
type touchStandsStill struct{ *blob.Disk }

func (s touchStandsStill) Touch(h blob.Hash) (int64, error) { return s.Stamp(h) }

type notFoundUnwrapped struct{ *blob.Disk }

func (s notFoundUnwrapped) Open(h blob.Hash) (blob.Reader, error) {
	r, err := s.Disk.Open(h)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, errNoSuchFile
	}
	return r, err
}

// statNotFoundUnwrapped answers Stat of a missing blob with an error of
// its own, as a new store does before it wraps blob.ErrNotFound: the
// suite must say so, not that the store kept a blob it refused.
type statNotFoundUnwrapped struct{ *blob.Disk }

func (s statNotFoundUnwrapped) Stat(h blob.Hash) (int64, error) {
	n, err := s.Disk.Stat(h)
	if errors.Is(err, blob.ErrNotFound) {
		return 0, errNoSuchFile
	}
	return n, err
}

// usageFails cannot count: the suite says Usage failed, not that the
// store holds something.
type usageFails struct{ *blob.Disk }

func (usageFails) Usage() (blob.Usage, error) { return blob.Usage{}, errors.New("usage unknown") }

type statSaysZero struct{ *blob.Disk }

func (s statSaysZero) Stat(h blob.Hash) (int64, error) {
	_, err := s.Disk.Stat(h)
	return 0, err
}

type removeMissingIsFine struct{ *blob.Disk }

func (s removeMissingIsFine) Remove(h blob.Hash) error {
	if err := s.Disk.Remove(h); !errors.Is(err, blob.ErrNotFound) {
		return err
	}
	return nil
}

// TestSuiteFailsBrokenStores runs the suite on each store above, in a
// child test process since the suite must fail, and checks that the
// check meant for it fails, saying what the store did wrong.
func TestSuiteFailsBrokenStores(t *testing.T) {
	if os.Getenv("BLOBTEST_BROKEN") != "" {
		for name, b := range broken {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				blobtest.TestStore(t, func(t *testing.T) blob.Store { return b.store(openDisk(t)) })
			})
		}
		return
	}
	// The checks none of the stores is meant for, and the slowest, are
	// left out: the test is about the suite, not about blob.Disk. Only the
	// stores named Stamper... are run through the subtest Stamper.
	cmd := exec.Command(os.Args[0], "-test.run=^TestSuiteFailsBrokenStores$", "-test.count=1", "-test.timeout=5m",
		"-test.skip=^TestSuiteFailsBrokenStores$/^[a-z]/^(Stamper|Quarantiner|ConcurrentUse|ConcurrentPuts)$")
	cmd.Env = append(os.Environ(), "BLOBTEST_BROKEN=1")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the suite passed every broken store:\n%s", out)
	said := failures(string(out))
	for name, b := range broken {
		t.Run(name, func(t *testing.T) {
			check := "TestSuiteFailsBrokenStores/" + name + "/" + b.check
			msgs, failed := said[check]
			if !assert.True(t, failed, "the suite did not fail %s in %s", name, b.check) {
				return
			}
			assert.Contains(t, msgs, b.saysWords, "%s failed %s without saying what it did wrong", name, b.check)
		})
	}
	if t.Failed() {
		t.Logf("the suite's output:\n%s", out)
	}
}

// failures reads go test's report of failed tests (without -v): each
// "--- FAIL: name" line, then that test's messages indented below it.
// It returns each failed test's messages.
func failures(out string) map[string]string {
	header := regexp.MustCompile(`^(\s*)--- FAIL: (\S+)`)
	said := map[string]string{}
	var name, indent string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if m := header.FindStringSubmatch(line); m != nil {
			name, indent = m[2], m[1]
			said[name] += ""
			continue
		}
		if name != "" && strings.HasPrefix(line, indent+"    ") {
			said[name] += strings.TrimSpace(line) + "\n"
		}
	}
	return said
}
