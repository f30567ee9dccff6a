package exercise

import (
	"testing"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/blob/blobtest"
	"github.com/gocourse/gateway/07-object-storage/meta"
	"github.com/gocourse/gateway/07-object-storage/meta/placertest"
)

// The exercises' checks are passable: the course's own store and
// placer pass the same suites.
func TestModelAnswersPass(t *testing.T) {
	t.Run("Disk", func(t *testing.T) {
		blobtest.TestStore(t, func(t *testing.T) blob.Store {
			d, err := blob.OpenDisk(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return d
		})
	})
	t.Run("Ring", func(t *testing.T) { placertest.TestPlacer(t, &meta.Ring{}) })
}
