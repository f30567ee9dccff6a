package dataserver_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/dataserver"
)

// walkFails is a Disk whose Walk fails after it has listed every blob
// but the last: a directory it could not read, say.
type walkFails struct{ *blob.Disk }

func (w walkFails) Walk(fn func(blob.Hash, int64) error) error {
	var all []blob.Hash
	if err := w.Disk.Walk(func(h blob.Hash, _ int64) error { all = append(all, h); return nil }); err != nil {
		return err
	}
	for _, h := range all[:len(all)-1] {
		size, err := w.Disk.Stat(h)
		if err != nil {
			return err
		}
		if err := fn(h, size); err != nil {
			return err
		}
	}
	return &fsError{syscall.EIO}
}

type fsError struct{ err error }

func (e *fsError) Error() string { return "reading blobs/ff: " + e.err.Error() }
func (e *fsError) Unwrap() error { return e.err }

// A walk that fails part way still has its blobs checked: one directory
// that cannot be read must not stop the scrub of the blobs listed before
// it. The walk's error is still returned.
func TestScrubChecksWhatAFailedWalkListed(t *testing.T) {
	d, err := blob.OpenDisk(t.TempDir())
	require.NoError(t, err)
	for _, s := range []string{"one", "two", "three"} {
		_, err := d.Put(blob.Sum([]byte(s)), strings.NewReader(s))
		require.NoError(t, err)
	}
	ds := dataserver.New(dataserver.Options{Store: walkFails{d}, Addr: "http://me", MetaURL: "http://127.0.0.1:1", Log: slog.New(slog.DiscardHandler)})
	rep, err := ds.Scrub(context.Background())
	assert.True(t, errors.Is(err, syscall.EIO), "the walk's error: %v", err)
	assert.Equal(t, 2, rep.Checked, "the blobs the walk listed before it failed")
}
