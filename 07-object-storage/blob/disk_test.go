package blob_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/blob/blobtest"
)

func TestDiskConformance(t *testing.T) {
	blobtest.TestStore(t, func(t *testing.T) blob.Store {
		d, err := blob.OpenDisk(t.TempDir())
		require.NoError(t, err)
		return d
	})
}

func TestParseHash(t *testing.T) {
	good := strings.Repeat("0123456789abcdef", 4)
	_, err := blob.ParseHash(good)
	assert.NoError(t, err)
	for name, s := range map[string]string{
		"empty":      "",
		"short":      good[:63],
		"long":       good + "0",
		"upper case": strings.ToUpper(good),
		"not hex":    good[:63] + "g",
		"path":       "../../" + good[6:],
		"slash":      good[:10] + "/" + good[11:],
	} {
		t.Run(name, func(t *testing.T) {
			_, err := blob.ParseHash(s)
			assert.ErrorIs(t, err, blob.ErrBadHash)
		})
	}
}

// A hash's short form, for logs, is its first 12 digits; a name that is
// not a hash is quoted in ParseHash's error, cut at 80 bytes, so that a
// megabyte of junk in a URL does not land whole in a log line.
func TestShortFormsForLogs(t *testing.T) {
	h := blob.Sum([]byte("log me"))
	assert.Equal(t, string(h[:12]), h.Short())
	assert.Equal(t, "abc", blob.Hash("abc").Short())

	for _, c := range []struct{ name, quoted string }{
		{strings.Repeat("x", 80), strings.Repeat("x", 80)},
		{strings.Repeat("x", 81), strings.Repeat("x", 80) + "..."},
		{strings.Repeat("y", 1<<20), strings.Repeat("y", 80) + "..."},
	} {
		_, err := blob.ParseHash(c.name)
		require.ErrorIs(t, err, blob.ErrBadHash)
		assert.Equal(t, fmt.Sprintf("%q: %v", c.quoted, blob.ErrBadHash), err.Error(), "a name of %d bytes", len(c.name))
	}
}

// A blob's path comes from its hash only, fanned out by its first two
// digits, and nothing is left in tmp.
func TestDiskLayout(t *testing.T) {
	dir := t.TempDir()
	d, err := blob.OpenDisk(dir)
	require.NoError(t, err)
	data := []byte("layout")
	h := blob.Sum(data)
	_, err = d.Put(h, bytes.NewReader(data))
	require.NoError(t, err)

	got, err := os.ReadFile(filepath.Join(dir, "blobs", string(h[:2]), string(h)))
	require.NoError(t, err)
	assert.Equal(t, data, got)
	n, err := d.TempFiles()
	require.NoError(t, err)
	assert.Zero(t, n, "temporary files left after a successful Put")
}

// A store reopened after a crash forgets half-written temporary files
// and still counts its blobs.
func TestDiskReopen(t *testing.T) {
	dir := t.TempDir()
	d, err := blob.OpenDisk(dir)
	require.NoError(t, err)
	id := d.ID()
	assert.NotEmpty(t, id)
	h := blob.Sum([]byte("kept"))
	_, err = d.Put(h, strings.NewReader("kept"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tmp", "put-crashed"), []byte("half"), 0o644))
	require.NoError(t, d.Close()) // as the crashed process's exit would

	d, err = blob.OpenDisk(dir)
	require.NoError(t, err)
	n, err := d.TempFiles()
	require.NoError(t, err)
	assert.Zero(t, n, "a crashed write's temporary file survived OpenDisk")
	u, err := d.Usage()
	require.NoError(t, err)
	assert.Equal(t, blob.Usage{Blobs: 1, Bytes: 4}, u)
	assert.Equal(t, id, d.ID(), "a store's ID must survive reopening")

	other, err := blob.OpenDisk(t.TempDir())
	require.NoError(t, err)
	assert.NotEqual(t, id, other.ID(), "two stores got the same ID")
}

// One Disk at a time has a directory: a second OpenDisk fails with
// ErrInUse and leaves the first one's writes in progress alone (it would
// clear tmp/), until the first Close.
func TestOneDiskAtATimeHasADirectory(t *testing.T) {
	if !blob.LocksDir {
		t.Skip("no flock(2) in Go's syscall package here: nothing keeps two stores on one directory apart")
	}
	dir := t.TempDir()
	d, err := blob.OpenDisk(dir)
	require.NoError(t, err)
	inProgress := filepath.Join(dir, "tmp", "put-running")
	require.NoError(t, os.WriteFile(inProgress, []byte("half"), 0o644))

	// At once: a second data server that waited for the first to stop
	// would look to its operator like one that hangs.
	refused := make(chan error, 1)
	go func() {
		other, err := blob.OpenDisk(dir)
		if err == nil {
			other.Close()
		}
		refused <- err
	}()
	select {
	case err = <-refused:
	case <-time.After(10 * time.Second):
		d.Close() // lets the waiting OpenDisk return
		t.Fatal("a second OpenDisk of a directory in use waited for it instead of failing at once")
	}
	require.ErrorIs(t, err, blob.ErrInUse)
	assert.Contains(t, err.Error(), dir)
	assert.FileExists(t, inProgress, "a refused OpenDisk removed the first store's write in progress")

	require.NoError(t, d.Close())
	again, err := blob.OpenDisk(dir)
	require.NoError(t, err, "the directory is free again once the first Disk is closed")
	assert.Equal(t, d.ID(), again.ID())
	require.NoError(t, again.Close())
}

func TestDiskRejectsBadHash(t *testing.T) {
	d, err := blob.OpenDisk(t.TempDir())
	require.NoError(t, err)
	_, err = d.Put("../escape", strings.NewReader("x"))
	assert.ErrorIs(t, err, blob.ErrBadHash)
	_, err = d.Open("../escape")
	assert.True(t, errors.Is(err, blob.ErrBadHash), "Open(../escape) = %v", err)
}

// A store whose blobs/ directory was removed under it (a wiped disk) must
// keep taking writes, not fail every one until a restart, and count only
// what it holds since.
func TestDiskSurvivesAWipedBlobsDir(t *testing.T) {
	dir := t.TempDir()
	d, err := blob.OpenDisk(dir)
	require.NoError(t, err)
	before := []byte("before the wipe")
	_, err = d.Put(blob.Sum(before), bytes.NewReader(before))
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "blobs")))

	data := []byte("after the wipe")
	h := blob.Sum(data)
	_, err = d.Put(h, bytes.NewReader(data))
	require.NoError(t, err)
	r, err := d.Open(h)
	require.NoError(t, err)
	defer r.Close()
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, data, got)
	u, err := d.Usage()
	require.NoError(t, err)
	assert.Equal(t, blob.Usage{Blobs: 1, Bytes: int64(len(data))}, u, "the wiped blob is no longer counted")
}
