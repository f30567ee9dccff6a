package blobtest_test

import (
	"testing"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/blob/blobtest"
)

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
		return blobtest.NewCountingStamps(openDisk(t))
	})
}

// A store that is not a blob.Stamper passes: its Stamper subtest is
// skipped.
func TestStoreWithoutStampsPasses(t *testing.T) {
	blobtest.TestStore(t, func(t *testing.T) blob.Store {
		return struct{ blob.Store }{openDisk(t)}
	})
}
