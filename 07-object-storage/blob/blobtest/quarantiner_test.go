package blobtest_test

import (
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/blob/blobtest"
)

// Stores with plausible bugs in Quarantine, each of which the suite must
// fail. Each is a blob.Disk with one thing wrong; every check outside
// the subtest Quarantiner passes them.

// keepsServing notes the blob as set aside and leaves it where it was:
// a damaged copy goes on being served.
type keepsServing struct{ *blob.Disk }

func (k keepsServing) Quarantine(h blob.Hash) error {
	_, err := k.Stat(h)
	return err
}

// stillCounted sets the blob aside but counts its bytes on in Usage, as
// a store that sums the sizes of every file in its directory would.
type stillCounted struct {
	*blob.Disk
	mu  sync.Mutex
	set blob.Usage
}

func (c *stillCounted) Quarantine(h blob.Hash) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	size, err := c.Stat(h)
	if err != nil {
		return err
	}
	if err := c.Disk.Quarantine(h); err != nil {
		return err
	}
	c.set.Blobs++
	c.set.Bytes += size
	return nil
}

func (c *stillCounted) Usage() (blob.Usage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, err := c.Disk.Usage()
	return blob.Usage{Blobs: u.Blobs + c.set.Blobs, Bytes: u.Bytes + c.set.Bytes}, err
}

// neverTakesItBack remembers the blobs it set aside as held, and a Put of
// one is a no-op: the copy can never be repaired on this server.
type neverTakesItBack struct {
	*blob.Disk
	mu  sync.Mutex
	set map[blob.Hash]bool
}

func (n *neverTakesItBack) Quarantine(h blob.Hash) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.Disk.Quarantine(h); err != nil {
		return err
	}
	n.set[h] = true
	return nil
}

func (n *neverTakesItBack) Put(h blob.Hash, r io.Reader) (int64, error) {
	n.mu.Lock()
	held := n.set[h]
	n.mu.Unlock()
	if held {
		return io.Copy(io.Discard, r)
	}
	return n.Disk.Put(h, r)
}

var knownBad = map[string]func(*blob.Disk) blob.Store{
	"keepsServing":     func(d *blob.Disk) blob.Store { return keepsServing{d} },
	"stillCounted":     func(d *blob.Disk) blob.Store { return &stillCounted{Disk: d} },
	"neverTakesItBack": func(d *blob.Disk) blob.Store { return &neverTakesItBack{Disk: d, set: map[blob.Hash]bool{}} },
}

// TestSuiteCatchesKnownBadQuarantiners runs the suite on each store
// above, in a child test process since the suite must fail, and checks
// that exactly the expected checks fail.
func TestSuiteCatchesKnownBadQuarantiners(t *testing.T) {
	if name := os.Getenv("BLOBTEST_KNOWN_BAD"); name != "" {
		blobtest.TestStore(t, func(t *testing.T) blob.Store { return knownBad[name](openDisk(t)) })
		return
	}
	for name, want := range map[string][]string{
		"keepsServing":     {"Quarantiner/QuarantineTakesTheBlobOutOfService"},
		"stillCounted":     {"Quarantiner/PutAfterQuarantine", "Quarantiner/QuarantinePutAndReadAtOnce", "Quarantiner/QuarantineTakesTheBlobOutOfService"},
		"neverTakesItBack": {"Quarantiner/PutAfterQuarantine"},
	} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestSuiteCatchesKnownBadQuarantiners$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), "BLOBTEST_KNOWN_BAD="+name)
			out, err := cmd.CombinedOutput()
			require.Error(t, err, "the suite passed %s:\n%s", name, out)
			var failed []string
			for _, m := range regexp.MustCompile(`--- FAIL: TestSuiteCatchesKnownBadQuarantiners/(\S+/\S+)`).FindAllStringSubmatch(string(out), -1) {
				failed = append(failed, m[1])
			}
			slices.Sort(failed)
			if diff := cmp.Diff(want, failed); diff != "" {
				t.Errorf("checks failed by %s (-want +got):\n%s\n%s", name, diff, out)
			}
		})
	}
}
