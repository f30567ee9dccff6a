package blob_test

import (
	"bytes"
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
)

// Walk lists every blob; Quarantine takes one out of service but keeps
// its bytes, and a new Put stores a fresh copy.
func TestDiskWalkAndQuarantine(t *testing.T) {
	d, err := blob.OpenDisk(t.TempDir())
	require.NoError(t, err)
	want := map[blob.Hash]int64{}
	for _, s := range []string{"a", "bb", ""} {
		h := blob.Sum([]byte(s))
		_, err := d.Put(h, bytes.NewReader([]byte(s)))
		require.NoError(t, err)
		want[h] = int64(len(s))
	}
	got := map[blob.Hash]int64{}
	require.NoError(t, d.Walk(func(h blob.Hash, n int64) error { got[h] = n; return nil }))
	assert.Equal(t, want, got)

	h := blob.Sum([]byte("bb"))
	require.NoError(t, d.Quarantine(h))
	_, err = d.Open(h)
	assert.ErrorIs(t, err, blob.ErrNotFound)
	q, err := d.Quarantined()
	require.NoError(t, err)
	assert.Equal(t, []blob.Hash{h}, q)
	u, _ := d.Usage()
	assert.Equal(t, blob.Usage{Blobs: 2, Bytes: 1}, u)
	_, err = d.Put(h, bytes.NewReader([]byte("bb")))
	require.NoError(t, err)
	assert.ErrorIs(t, d.Quarantine(blob.Sum([]byte("never"))), blob.ErrNotFound)

	// The fresh copy is damaged again: the first one's evidence stays.
	require.NoError(t, d.Quarantine(h))
	q, err = d.Quarantined()
	require.NoError(t, err)
	assert.Equal(t, []blob.Hash{h, h}, q, "both copies set aside are kept")
}

// A quarantine that cannot be looked into (here a file, not a directory;
// on a failing disk, EIO) is an error at once: looking for a free name
// must not go on for ever while the disk's lock is held.
func TestQuarantineThatCannotBeReadIsAnError(t *testing.T) {
	dir := t.TempDir()
	d, err := blob.OpenDisk(dir)
	require.NoError(t, err)
	h := blob.Sum([]byte("x"))
	_, err = d.Put(h, bytes.NewReader([]byte("x")))
	require.NoError(t, err)
	q := filepath.Join(dir, "quarantine")
	require.NoError(t, os.RemoveAll(q))
	require.NoError(t, os.WriteFile(q, nil, 0o644))
	done := make(chan error, 1)
	go func() { done <- d.Quarantine(h) }()
	select {
	case err := <-done:
		assert.ErrorContains(t, err, "quarantine")
	case <-time.After(10 * time.Second):
		t.Fatal("Quarantine still looking for a free name after 10s")
	}
	_, err = d.Open(h)
	assert.NoError(t, err, "the blob stays where it was")
}

// blockingReader hands out one byte, then waits until released.
type blockingReader struct {
	started chan struct{}
	release chan struct{}
	sent    bool
}

func (r *blockingReader) Read(p []byte) (int, error) {
	if !r.sent {
		r.sent = true
		p[0] = 'x'
		close(r.started)
		return 1, nil
	}
	<-r.release
	return 0, io.ErrUnexpectedEOF
}

// SweepTemp removes old temporary files, but never one a running Put is
// writing, however old the cutoff makes it look.
func TestSweepTempSparesWritesInProgress(t *testing.T) {
	dir := t.TempDir()
	d, err := blob.OpenDisk(dir)
	require.NoError(t, err)
	stray := filepath.Join(dir, "tmp", "put-stray")
	require.NoError(t, os.WriteFile(stray, []byte("left behind"), 0o644))
	old := time.Now().Add(-2 * time.Hour)
	require.NoError(t, os.Chtimes(stray, old, old))

	r := &blockingReader{started: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error)
	go func() { _, err := d.Put(blob.Sum([]byte("x")), r); done <- err }()
	<-r.started

	n, err := d.SweepTemp(time.Now().Add(time.Hour)) // everything looks old
	require.NoError(t, err)
	assert.Equal(t, 1, n, "only the stray file")
	left, err := d.TempFiles()
	require.NoError(t, err)
	assert.Equal(t, 1, left, "the write in progress kept its file")
	close(r.release)
	assert.Error(t, <-done)
	left, _ = d.TempFiles()
	assert.Zero(t, left)
}

// Walk over a store whose blobs/ directory was removed under it (a wiped
// disk) finds nothing, rather than failing every scrub and inventory.
func TestWalkAfterAWipe(t *testing.T) {
	dir := t.TempDir()
	d, err := blob.OpenDisk(dir)
	require.NoError(t, err)
	_, err = d.Put(blob.Sum([]byte("gone")), bytes.NewReader([]byte("gone")))
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "blobs")))

	seen := 0
	require.NoError(t, d.Walk(func(blob.Hash, int64) error { seen++; return nil }))
	assert.Zero(t, seen)
}

// A reader of a copy that is set aside and replaced (the repair of a
// damaged blob by an upload) reads the copy it opened to the end, never
// a mix of its bytes and the new ones: the new copy is a new file renamed
// into place, never the old one written over.
func TestAReaderOfAReplacedCopyReadsOnlyTheCopyItOpened(t *testing.T) {
	dir := t.TempDir()
	d, err := blob.OpenDisk(dir)
	require.NoError(t, err)
	good := bytes.Repeat([]byte("good"), 1<<14)
	h := blob.Sum(good)
	_, err = d.Put(h, bytes.NewReader(good))
	require.NoError(t, err)
	bad := bytes.Repeat([]byte("BAD!"), 1<<14) // rotted in place, same length
	require.NoError(t, os.WriteFile(filepath.Join(dir, "blobs", string(h[:2]), string(h)), bad, 0o644))

	old, err := d.Open(h)
	require.NoError(t, err)
	defer old.Close()
	first := make([]byte, len(bad)/2)
	_, err = io.ReadFull(old, first)
	require.NoError(t, err)

	require.NoError(t, d.Quarantine(h))
	_, err = d.Put(h, bytes.NewReader(good))
	require.NoError(t, err)

	rest, err := io.ReadAll(old)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(bad, append(first, rest...)), "the reader opened before the repair got a mix of old and new bytes")
	r, err := d.Open(h)
	require.NoError(t, err)
	defer r.Close()
	now, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(good, now), "a reader opened after the repair does not get the good copy")
}

// A copy set aside stays set aside when the store is opened again (a
// restart): not counted, served or listed, still kept, and a copy set
// aside after the restart is kept beside it, not over it.
func TestQuarantineSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	d, err := blob.OpenDisk(dir)
	require.NoError(t, err)
	bad, kept := []byte("set aside"), []byte("kept")
	h := blob.Sum(bad)
	for _, b := range [][]byte{bad, kept} {
		_, err := d.Put(blob.Sum(b), bytes.NewReader(b))
		require.NoError(t, err)
	}
	require.NoError(t, d.Quarantine(h))
	require.NoError(t, d.Close())

	d, err = blob.OpenDisk(dir)
	require.NoError(t, err)
	defer d.Close()
	u, err := d.Usage()
	require.NoError(t, err)
	assert.Equal(t, blob.Usage{Blobs: 1, Bytes: int64(len(kept))}, u, "a copy set aside is counted again after a restart")
	_, err = d.Open(h)
	assert.ErrorIs(t, err, blob.ErrNotFound, "a copy set aside is served again after a restart")
	listed := map[blob.Hash]bool{}
	require.NoError(t, d.Walk(func(h blob.Hash, _ int64) error { listed[h] = true; return nil }))
	assert.Equal(t, map[blob.Hash]bool{blob.Sum(kept): true}, listed)

	_, err = d.Put(h, bytes.NewReader(bad))
	require.NoError(t, err)
	require.NoError(t, d.Quarantine(h))
	q, err := d.Quarantined()
	require.NoError(t, err)
	assert.Equal(t, []blob.Hash{h, h}, q, "the copy set aside before the restart was overwritten")
}

// A blob keeps up to 1,000 copies in quarantine, each under the first
// free number from 1; past that, Quarantine refuses, and the damaged copy
// stays where it is, counted and served, until a person makes room.
func TestQuarantineKeepsAThousandCopies(t *testing.T) {
	dir := t.TempDir()
	d, err := blob.OpenDisk(dir)
	require.NoError(t, err)
	content := []byte("damaged again and again")
	h := blob.Sum(content)
	q := filepath.Join(dir, "quarantine")
	for n := 1; n < 1000; n++ {
		if n == 500 {
			continue // a free number among the taken ones: the first to be used
		}
		require.NoError(t, os.WriteFile(filepath.Join(q, fmt.Sprintf("%s.%d", h, n)), nil, 0o644))
	}
	for _, want := range []string{"500", "1000"} {
		_, err = d.Put(h, bytes.NewReader(content))
		require.NoError(t, err)
		require.NoError(t, d.Quarantine(h))
		b, err := os.ReadFile(filepath.Join(q, string(h)+"."+want))
		require.NoError(t, err, "the copy was not set aside as .%s", want)
		assert.Equal(t, content, b)
	}

	_, err = d.Put(h, bytes.NewReader(content))
	require.NoError(t, err)
	assert.ErrorContains(t, d.Quarantine(h), "1000 copies", "a 1,001st copy was set aside")
	size, err := d.Stat(h)
	require.NoError(t, err, "the damaged copy was taken out of service anyway")
	assert.Equal(t, int64(len(content)), size)
	u, _ := d.Usage()
	assert.Equal(t, blob.Usage{Blobs: 1, Bytes: int64(len(content))}, u)
	entries, err := os.ReadDir(q)
	require.NoError(t, err)
	assert.Len(t, entries, 1000)
}

// SweepTemp removes only files last modified before its cutoff: one
// modified at the cutoff or after it may belong to an upload that is
// merely slow, and stays.
func TestSweepTempKeepsWhatIsNotOlderThanTheCutoff(t *testing.T) {
	dir := t.TempDir()
	d, err := blob.OpenDisk(dir)
	require.NoError(t, err)
	cutoff := time.Now().Add(-time.Hour).Truncate(time.Second)
	ages := map[string]time.Time{
		"put-old":       cutoff.Add(-time.Second),
		"put-at-cutoff": cutoff,
		"put-recent":    cutoff.Add(time.Second),
	}
	for name, at := range ages {
		p := filepath.Join(dir, "tmp", name)
		require.NoError(t, os.WriteFile(p, []byte(name), 0o644))
		require.NoError(t, os.Chtimes(p, at, at))
	}
	n, err := d.SweepTemp(cutoff)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.NoFileExists(t, filepath.Join(dir, "tmp", "put-old"))
	assert.FileExists(t, filepath.Join(dir, "tmp", "put-at-cutoff"))
	assert.FileExists(t, filepath.Join(dir, "tmp", "put-recent"))
}

// A file in blobs/ whose name is not a hash (an editor's backup, an
// operator's note) is not a blob: OpenDisk does not count it and Walk
// does not list it, so no inventory reports a name no store could serve.
func TestAFileThatIsNotABlobIsNotCountedOrListed(t *testing.T) {
	dir := t.TempDir()
	d, err := blob.OpenDisk(dir)
	require.NoError(t, err)
	h := blob.Sum([]byte("a blob"))
	_, err = d.Put(h, bytes.NewReader([]byte("a blob")))
	require.NoError(t, err)
	fan := filepath.Join(dir, "blobs", string(h[:2]))
	for _, name := range []string{string(h) + "~", "notes.txt", strings.ToUpper(string(h))} {
		require.NoError(t, os.WriteFile(filepath.Join(fan, name), []byte("not a blob"), 0o644))
	}
	require.NoError(t, d.Close())

	d, err = blob.OpenDisk(dir)
	require.NoError(t, err)
	defer d.Close()
	u, err := d.Usage()
	require.NoError(t, err)
	assert.Equal(t, blob.Usage{Blobs: 1, Bytes: int64(len("a blob"))}, u)
	var listed []blob.Hash
	require.NoError(t, d.Walk(func(h blob.Hash, _ int64) error { listed = append(listed, h); return nil }))
	assert.Equal(t, []blob.Hash{h}, listed)
}

// A file named by a hash but not where that hash's blob lives (another
// fan-out directory, or blobs/ itself: an operator's copy, a restore
// that flattened the tree) is not a blob either: Open, Stat and Remove
// look only at blobs/<first two digits>/<hash>, so a listed copy there
// could be counted by the metadata server but never served, scrubbed or
// collected.
func TestAHashNamedFileInTheWrongPlaceIsNotCountedOrListed(t *testing.T) {
	dir := t.TempDir()
	d, err := blob.OpenDisk(dir)
	require.NoError(t, err)
	h := blob.Sum([]byte("a blob"))
	_, err = d.Put(h, bytes.NewReader([]byte("a blob")))
	require.NoError(t, err)
	stray := blob.Sum([]byte("a stray"))
	wrongFan := "00"
	if string(stray[:2]) == wrongFan {
		wrongFan = "ff"
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "blobs", wrongFan), 0o755))
	for _, p := range []string{filepath.Join(dir, "blobs", wrongFan, string(stray)), filepath.Join(dir, "blobs", string(stray))} {
		require.NoError(t, os.WriteFile(p, []byte("a stray"), 0o644))
	}
	_, err = d.Stat(stray)
	require.ErrorIs(t, err, blob.ErrNotFound, "the stray is not where Stat looks")
	require.NoError(t, d.Close())

	d, err = blob.OpenDisk(dir)
	require.NoError(t, err)
	defer d.Close()
	u, err := d.Usage()
	require.NoError(t, err)
	assert.Equal(t, blob.Usage{Blobs: 1, Bytes: int64(len("a blob"))}, u)
	var listed []blob.Hash
	require.NoError(t, d.Walk(func(h blob.Hash, _ int64) error { listed = append(listed, h); return nil }))
	assert.Equal(t, []blob.Hash{h}, listed)
}
