// Package exercise holds the chapter's exercises. Each starts as a stub
// that fails its check; the check is a command:
//
//	go test -race -tags exercise ./07-object-storage/exercise
//
// Exercise 1: make MemStore a blob.Store that keeps blobs in memory and
// passes blobtest.TestStore (the suite the course's disk store passes).
//
// Exercise 2: make Rendezvous a meta.Placer using rendezvous hashing
// (highest random weight) that passes placertest.TestPlacer (the suite
// the course's Ring passes).
package exercise

import (
	"errors"
	"io"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

var errNotDone = errors.New("exercise: not done yet")

// ---- Exercise 1: start here. ----

// MemStore keeps blobs in memory. It must be safe for concurrent use.
type MemStore struct {
	// Your fields here.
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore { return &MemStore{} }

// Put must hash what it reads and keep it only if it matches h.
func (s *MemStore) Put(h blob.Hash, r io.Reader) (int64, error) { return 0, errNotDone }

// Open returns a blob.Reader; bytes.Reader plus a Close and a Size will do.
func (s *MemStore) Open(h blob.Hash) (blob.Reader, error) { return nil, errNotDone }

// Stat returns the blob's size, or an error matching blob.ErrNotFound.
func (s *MemStore) Stat(h blob.Hash) (int64, error) { return 0, errNotDone }

// Remove deletes the blob; a missing one is blob.ErrNotFound.
func (s *MemStore) Remove(h blob.Hash) error { return errNotDone }

// Usage counts the blobs and their bytes.
func (s *MemStore) Usage() (blob.Usage, error) { return blob.Usage{}, errNotDone }

// ---- Exercise 2: start here. ----

// Rendezvous orders servers by a score computed from (server, blob hash):
// highest first. Hash the two together (sha256 of server + "/" + hash,
// for example), take 8 bytes as the score, sort.
type Rendezvous struct{}

// Place returns every server, best first for hash.
func (Rendezvous) Place(hash string, servers []string) []string { return nil }
