package dataserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// removeDamaged removes a copy only if it is still damaged when it looks:
// an upload that found the copy damaged must not remove the good copy
// another upload has stored since.
func TestRemoveDamagedKeepsACopyRepairedMeanwhile(t *testing.T) {
	dir := t.TempDir()
	store, err := blob.OpenDisk(dir)
	require.NoError(t, err)
	s := New(Options{Store: store})
	content := "the right bytes"
	h := blob.Sum([]byte(content))
	path := filepath.Join(dir, "blobs", string(h[:2]), string(h))

	_, err = store.Put(h, strings.NewReader(content)) // the first upload's repair
	require.NoError(t, err)
	require.NoError(t, s.removeDamaged(h))
	_, err = store.Stat(h)
	assert.NoError(t, err, "the good copy was removed")

	require.NoError(t, os.WriteFile(path, []byte("rotten bytes"), 0o644))
	require.NoError(t, s.removeDamaged(h))
	_, err = store.Stat(h)
	assert.ErrorIs(t, err, blob.ErrNotFound, "the damaged copy stayed")

	assert.NoError(t, s.removeDamaged(h), "nothing to remove")
}
