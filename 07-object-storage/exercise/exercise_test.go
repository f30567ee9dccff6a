//go:build exercise

package exercise

import (
	"testing"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/blob/blobtest"
	"github.com/gocourse/gateway/07-object-storage/meta/placertest"
)

func TestMemStore(t *testing.T) {
	blobtest.TestStore(t, func(t *testing.T) blob.Store { return NewMemStore() })
}

func TestRendezvous(t *testing.T) {
	placertest.TestPlacer(t, Rendezvous{})
}
