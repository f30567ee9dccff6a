package blobtest

import (
	"sync"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// CountingStamps is a blob.Disk whose stamps are a counter per blob
// instead of the file's modification time: a blob.Stamper as a learner
// may write one, with stamps that start at 0. Tests use it to check that
// 0 is taken as a stamp like any other. A blob removed and put again
// keeps counting from where it was (see blob.Stamper's Touch).
type CountingStamps struct {
	*blob.Disk
	mu     sync.Mutex
	stamps map[blob.Hash]int64
}

// NewCountingStamps returns d with counting stamps.
func NewCountingStamps(d *blob.Disk) *CountingStamps {
	return &CountingStamps{Disk: d, stamps: map[blob.Hash]int64{}}
}

// Stamp returns h's count, 0 until the first Touch.
func (c *CountingStamps) Stamp(h blob.Hash) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.Disk.Stat(h); err != nil {
		return 0, err
	}
	return c.stamps[h], nil
}

// Touch counts one more for h.
func (c *CountingStamps) Touch(h blob.Hash) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.Disk.Stat(h); err != nil {
		return 0, err
	}
	c.stamps[h]++
	return c.stamps[h], nil
}

// RemoveStamped removes h if its count is still stamp. The count is
// kept, so that a copy put again does not get its old stamps back.
func (c *CountingStamps) RemoveStamped(h blob.Hash, stamp int64) error {
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
