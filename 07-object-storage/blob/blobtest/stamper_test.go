package blobtest_test

import (
	"sync"
	"testing"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/blob/blobtest"
)

// countingStamps is a blob.Stamper as a learner may write one: a counter
// per blob, from zero, beside a store that keeps no stamps.
type countingStamps struct {
	*blob.Disk
	mu     sync.Mutex
	stamps map[blob.Hash]int64
}

func (c *countingStamps) Stamp(h blob.Hash) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.Disk.Stat(h); err != nil {
		return 0, err
	}
	return c.stamps[h], nil
}

func (c *countingStamps) Touch(h blob.Hash) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.Disk.Stat(h); err != nil {
		return 0, err
	}
	c.stamps[h]++
	return c.stamps[h], nil
}

func (c *countingStamps) RemoveStamped(h blob.Hash, stamp int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.Disk.Stat(h); err != nil {
		return err
	}
	if c.stamps[h] != stamp {
		return blob.ErrStampChanged
	}
	return c.Disk.Remove(h)
}

func openDisk(t *testing.T) *blob.Disk {
	d, err := blob.OpenDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The suite takes any number as a stamp: a store whose stamps count from
// zero passes it, 0 included.
func TestStampsFromZeroPass(t *testing.T) {
	blobtest.TestStore(t, func(t *testing.T) blob.Store {
		return &countingStamps{Disk: openDisk(t), stamps: map[blob.Hash]int64{}}
	})
}

// A store that is not a blob.Stamper passes: its Stamper subtest is
// skipped.
func TestStoreWithoutStampsPasses(t *testing.T) {
	blobtest.TestStore(t, func(t *testing.T) blob.Store {
		return struct{ blob.Store }{openDisk(t)}
	})
}
