//go:build exercise

package exercise

import (
	"fmt"
	"testing"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/blob/blobtest"
	"github.com/gocourse/gateway/07-object-storage/fault"
	"github.com/gocourse/gateway/07-object-storage/meta/placertest"
)

func TestMemStore(t *testing.T) {
	blobtest.TestStore(t, func(t *testing.T) blob.Store { return NewMemStore() })
}

func TestRendezvous(t *testing.T) {
	placertest.TestPlacer(t, Rendezvous{})
}

// Part 2, exercise 4: fault.Run has a step of kind "wipe" (a data server's
// blobs/ directory removed while it runs), and every invariant still holds
// with it. It fails until such a step exists and runs.
func TestWipe(t *testing.T) {
	wipes := 0
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			wipes += fault.Run(t, fault.Config{Seed: seed}).Steps["wipe"]
		})
	}
	// A seed that failed stopped before its count came back: its own
	// message says why, and "no step ran" would contradict it.
	if wipes == 0 && !t.Failed() {
		t.Fatal(`no step of kind "wipe" ran in 20 seeds: add one to fault.Run (see the chapter's exercise 4)`)
	}
}
