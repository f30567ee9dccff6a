package dataserver

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// setAsideDamaged sets a copy aside only if it is still damaged when it
// looks: an upload that found the copy damaged must not set aside the
// good copy another upload has stored since. A damaged copy is
// quarantined, not destroyed, and a second damaged copy of the same blob
// does not overwrite the first.
func TestSetAsideDamagedKeepsACopyRepairedMeanwhile(t *testing.T) {
	dir := t.TempDir()
	store, err := blob.OpenDisk(dir)
	require.NoError(t, err)
	s := New(Options{Store: store})
	content := "the right bytes"
	h := blob.Sum([]byte(content))
	path := filepath.Join(dir, "blobs", string(h[:2]), string(h))

	_, err = store.Put(h, strings.NewReader(content)) // the first upload's repair
	require.NoError(t, err)
	set, err := s.setAsideDamaged(h)
	require.NoError(t, err)
	assert.False(t, set)
	_, err = store.Stat(h)
	assert.NoError(t, err, "the good copy was set aside")

	for i, rot := range []string{"rotten bytes", "rotten again"} {
		require.NoError(t, os.WriteFile(path, []byte(rot), 0o644))
		set, err := s.setAsideDamaged(h)
		require.NoError(t, err)
		assert.True(t, set)
		_, err = store.Stat(h)
		assert.ErrorIs(t, err, blob.ErrNotFound, "the damaged copy stayed in service")
		q, err := store.Quarantined()
		require.NoError(t, err)
		assert.Len(t, q, i+1, "damaged copies kept in quarantine")
		_, err = store.Put(h, strings.NewReader(content))
		require.NoError(t, err)
	}
	require.NoError(t, store.Remove(h))
	set, err = s.setAsideDamaged(h)
	assert.NoError(t, err)
	assert.False(t, set, "nothing to set aside")
}

// unopenable is a blob.Disk that cannot open any blob, as when the
// process has run out of file descriptors.
type unopenable struct{ *blob.Disk }

func (unopenable) Open(blob.Hash) (blob.Reader, error) {
	return nil, errors.New("too many open files")
}

// A copy that cannot be opened to be checked again is not known to be
// damaged: setAsideDamaged leaves it in service and says why.
func TestSetAsideDamagedKeepsACopyItCannotOpen(t *testing.T) {
	store, err := blob.OpenDisk(t.TempDir())
	require.NoError(t, err)
	content := "the right bytes"
	h := blob.Sum([]byte(content))
	_, err = store.Put(h, strings.NewReader(content))
	require.NoError(t, err)
	s := New(Options{Store: unopenable{store}})

	set, err := s.setAsideDamaged(h)
	assert.Error(t, err)
	assert.False(t, set)
	_, err = store.Stat(h)
	assert.NoError(t, err, "a copy that could not be opened was set aside")
}
