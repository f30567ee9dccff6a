package blob

import (
	"errors"
	"io"
)

// Errors a Store returns; test them with errors.Is.
var (
	ErrNotFound       = errors.New("blob not found")
	ErrDigestMismatch = errors.New("content does not match its SHA-256 hash")
	// ErrInUse: OpenDisk found the directory held by another open Disk.
	ErrInUse = errors.New("store directory in use by another process (a data server still running on it?)")
)

// Store is where a data server keeps its blobs. The course's
// implementation is Disk; blobtest.TestStore checks any implementation
// against the contract below.
type Store interface {
	// Put reads r to the end and stores it as blob h, but only if the
	// bytes hash to h: otherwise it returns ErrDigestMismatch and keeps
	// nothing. If r fails, Put returns its error and keeps nothing. A blob
	// must never be visible to Open before all of it is stored. Putting a
	// blob that exists already is a no-op (after the same check). Put
	// returns the number of bytes read.
	Put(h Hash, r io.Reader) (int64, error)

	// Open returns the blob for reading, or ErrNotFound.
	Open(h Hash) (Reader, error)

	// Stat returns the blob's size, or ErrNotFound.
	Stat(h Hash) (int64, error)

	// Remove deletes the blob; removing a missing blob returns ErrNotFound.
	Remove(h Hash) error

	// Usage counts what the store holds.
	Usage() (Usage, error)
}

// Syncer is a Store whose blobs can be visible (to Stat and Open) a
// moment before they would survive a crash: blob.Disk renames a blob
// into place, then syncs its directory. SyncBlob makes blob h's name
// durable now. A data server calls it before it tells a client that it
// already holds a blob: the copy it saw may be another upload's, still
// between its rename and its sync.
type Syncer interface {
	SyncBlob(h Hash) error
}

// Reader reads one stored blob. It can seek, so http.ServeContent can
// answer Range requests from it.
type Reader interface {
	io.ReadSeekCloser
	// Size is the blob's length in bytes.
	Size() int64
}

// Usage is what a data server reports in its heartbeats.
type Usage struct {
	Blobs int   `json:"blobs"`
	Bytes int64 `json:"bytes"`
}
