package blob

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A Put holds the disk's lock until the rename that publishes its blob is
// synced, so that a second Put of the same blob, which finds the file and
// reports success without writing, cannot do so before the first one's
// blob would survive a crash.
func TestPutHoldsTheLockUntilTheRenameIsDurable(t *testing.T) {
	d, err := OpenDisk(t.TempDir())
	require.NoError(t, err)
	content := "durable"
	h := Sum([]byte(content))

	inSync := make(chan struct{})
	release := make(chan struct{})
	real := syncDir
	syncDir = func(dir string) error {
		if dir == filepath.Dir(d.path(h)) { // the blob's own directory
			close(inSync)
			<-release
		}
		return real(dir)
	}
	defer func() { syncDir = real }()

	done := make(chan error, 1)
	go func() {
		_, err := d.Put(h, strings.NewReader(content))
		done <- err
	}()
	<-inSync
	locked := !d.mu.TryLock()
	if !locked {
		d.mu.Unlock()
	}
	close(release)
	require.NoError(t, <-done)
	assert.True(t, locked, "the lock was free while the rename was not yet synced")
}

// SyncBlob syncs the directory of a stored blob, whoever renamed it
// there, and nothing for a blob it does not have.
func TestSyncBlobSyncsItsDirectory(t *testing.T) {
	d, err := OpenDisk(t.TempDir())
	require.NoError(t, err)
	h := Sum([]byte("durable"))
	_, err = d.Put(h, strings.NewReader("durable"))
	require.NoError(t, err)

	var synced []string
	real := syncDir
	syncDir = func(dir string) error { synced = append(synced, dir); return real(dir) }
	defer func() { syncDir = real }()

	require.NoError(t, d.SyncBlob(h))
	assert.Equal(t, []string{filepath.Dir(d.path(h))}, synced)
	assert.ErrorIs(t, d.SyncBlob(Sum([]byte("absent"))), ErrNotFound)
	assert.Len(t, synced, 1)
}
