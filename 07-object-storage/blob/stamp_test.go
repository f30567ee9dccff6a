package blob

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func stamped(t *testing.T) (*Disk, Hash) {
	t.Helper()
	return stampedIn(t, t.TempDir())
}

func stampedIn(t *testing.T, dir string) (*Disk, Hash) {
	t.Helper()
	d, err := OpenDisk(dir)
	require.NoError(t, err)
	data := []byte("a blob with a stamp")
	h := Sum(data)
	_, err = d.Put(h, bytes.NewReader(data))
	require.NoError(t, err)
	return d, h
}

// Stamp, Touch and RemoveStamped keep the blob.Stamper contract:
// TestDiskConformance runs blobtest's Stamper checks on Disk. The tests
// here are Disk's own: its stamps are file times.

// On a file system that keeps times to the second, or to two seconds
// (FAT), Touch still moves the stamp forward, by a larger step. Each
// Touch here sets a time ahead of the clock, so the next one cannot take
// the clock's time and needs the step.
func TestTouchOnCoarseTimes(t *testing.T) {
	for _, grain := range []time.Duration{time.Second, 2 * time.Second} {
		t.Run(grain.String(), func(t *testing.T) {
			d, h := stamped(t)
			real := chtimes
			t.Cleanup(func() { chtimes = real })
			chtimes = func(name string, atime, mtime time.Time) error {
				return real(name, atime, mtime.Truncate(grain))
			}
			prev, err := d.Stamp(h)
			require.NoError(t, err)
			for range 3 {
				s, err := d.Touch(h)
				require.NoError(t, err)
				assert.Greater(t, s, prev)
				prev = s
			}
		})
	}
}

// Stamps are on disk: a store opened again reads the same ones.
func TestStampSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	d, h := stampedIn(t, dir)
	s, err := d.Touch(h)
	require.NoError(t, err)
	require.NoError(t, d.Close())
	again, err := OpenDisk(dir)
	require.NoError(t, err)
	got, err := again.Stamp(h)
	require.NoError(t, err)
	assert.Equal(t, s, got)
}
