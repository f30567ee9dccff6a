package blob

import (
	"bytes"
	"slices"
	"sync"
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

// A removal that names the blob's current stamp removes it; one that
// names a stamp from before a Touch is refused and removes nothing.
func TestRemoveStamped(t *testing.T) {
	d, h := stamped(t)
	seen, err := d.Stamp(h)
	require.NoError(t, err)
	_, err = d.Touch(h)
	require.NoError(t, err)
	assert.ErrorIs(t, d.RemoveStamped(h, seen), ErrStampChanged, "a stamp read before a Touch")
	_, err = d.Stat(h)
	require.NoError(t, err, "the refused removal removed the blob")

	now, err := d.Stamp(h)
	require.NoError(t, err)
	require.NoError(t, d.RemoveStamped(h, now), "the current stamp")
	_, err = d.Stat(h)
	assert.ErrorIs(t, err, ErrNotFound)
	u, _ := d.Usage()
	assert.Equal(t, Usage{}, u, "a stamped removal is counted like any other")
	assert.ErrorIs(t, d.RemoveStamped(h, now), ErrNotFound)
	_, err = d.Touch(h)
	assert.ErrorIs(t, err, ErrNotFound, "Touch of a removed blob")
}

// Stamps strictly increase, however many Touches run at once: no two
// return the same stamp, and the last one stored is the largest.
func TestTouchStrictlyIncreases(t *testing.T) {
	d, h := stamped(t)
	first, err := d.Stamp(h)
	require.NoError(t, err)
	var (
		mu  sync.Mutex
		got []int64
		wg  sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			for range 50 {
				s, err := d.Touch(h)
				assert.NoError(t, err)
				mu.Lock()
				got = append(got, s)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(got)
	assert.Len(t, slices.Compact(slices.Clone(got)), len(got), "two Touches returned the same stamp")
	assert.Greater(t, got[0], first)
	last, err := d.Stamp(h)
	require.NoError(t, err)
	assert.Equal(t, got[len(got)-1], last)
}

// On a file system that keeps times to the second, Touch still moves the
// stamp forward, by a larger step.
func TestTouchOnCoarseTimes(t *testing.T) {
	d, h := stamped(t)
	real := chtimes
	t.Cleanup(func() { chtimes = real })
	chtimes = func(name string, atime, mtime time.Time) error {
		return real(name, atime, mtime.Truncate(time.Second))
	}
	prev, err := d.Stamp(h)
	require.NoError(t, err)
	for range 3 {
		s, err := d.Touch(h)
		require.NoError(t, err)
		assert.Greater(t, s, prev)
		prev = s
	}
}

// Stamps are on disk: a store opened again reads the same ones.
func TestStampSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	d, h := stampedIn(t, dir)
	s, err := d.Touch(h)
	require.NoError(t, err)
	again, err := OpenDisk(dir)
	require.NoError(t, err)
	got, err := again.Stamp(h)
	require.NoError(t, err)
	assert.Equal(t, s, got)
}
