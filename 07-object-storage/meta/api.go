package meta

import (
	"time"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// The metadata server's API carries these values as JSON. Clients and
// data servers import them from here, so the two ends cannot disagree.

// Heartbeat is what a data server says about itself, every few seconds.
type Heartbeat struct {
	// ID names the server's disk for good; Addr is where it is now. The
	// metadata server records which IDs hold a blob, so a data server that
	// comes back on another address still owns its blobs.
	ID       string `json:"id"`
	Addr     string `json:"addr"`     // base URL, such as http://127.0.0.1:9101
	Capacity int64  `json:"capacity"` // bytes it may store
	Free     int64  `json:"free"`     // bytes left
	Blobs    int    `json:"blobs"`    // blobs it holds
}

// Version is one version of an object. Versions of a key are numbered
// 1, 2, 3... in commit order. A delete adds a version with Deleted set
// (a delete marker) and keeps the older ones.
type Version struct {
	Key     string    `json:"key"`
	Number  uint64    `json:"version"`
	Hash    blob.Hash `json:"hash,omitempty"`
	Size    int64     `json:"size"`
	Created time.Time `json:"created"`
	Deleted bool      `json:"deleted,omitempty"`

	// ContentType is the media type the writer gave, such as
	// "image/png", or "" if it gave none. It belongs to the version, not
	// the blob: the same bytes put twice may be given two types.
	ContentType string `json:"content_type,omitempty"`

	// Replicas are the addresses of the data servers holding the content,
	// live ones first. They belong to the blob, not the version: every key
	// and version with the same content shares them. (Inside the
	// Namespace they are data server IDs; the Server turns them into
	// addresses.)
	Replicas []string `json:"replicas,omitempty"`

	// Replaced is set only in the answer to a commit: the key's latest
	// version was an object, which this one replaces, rather than none
	// or a delete marker. (An HTTP PUT answers 200 then, 201 otherwise.)
	Replaced bool `json:"replaced,omitempty"`
}

// WriteRequest asks where to store a blob before an object is written.
type WriteRequest struct {
	Key  string    `json:"key"`
	Hash blob.Hash `json:"hash"`
	Size int64     `json:"size"`
}

// Placement answers a WriteRequest.
type Placement struct {
	// Targets are the live data servers in the order the hash ring prefers
	// them: write to the first Replicas of them, and move down the list
	// past any that fail.
	Targets  []string `json:"targets"`
	Have     []string `json:"have,omitempty"` // live servers holding the blob (recorded, and a HEAD confirms it)
	Replicas int      `json:"replicas"`       // R: copies to make
	Quorum   int      `json:"quorum"`         // W: copies needed to commit
}

// CommitRequest records a new version once its blob is on data servers.
type CommitRequest struct {
	Key      string    `json:"key"`
	Hash     blob.Hash `json:"hash"`
	Size     int64     `json:"size"`
	Replicas []string  `json:"replicas"`

	// ContentType is the object's media type (ValidateContentType), or
	// "" for none.
	ContentType string `json:"content_type,omitempty"`

	// Chunks are the hashes of the blob's pieces, which let a reader
	// check and pass on a large blob piece by piece (see blob.Chunks).
	// Optional: a blob without them is read whole before it is served.
	// The first list recorded for a blob stays; a different one later is
	// ignored.
	Chunks *blob.Chunks `json:"chunks,omitempty"`
}

// ReplicaRequest records more copies of a known blob, after a repair.
type ReplicaRequest struct {
	Hash     blob.Hash `json:"hash"`
	Size     int64     `json:"size"`
	Replicas []string  `json:"replicas"`
}

// BadReplica reports a data server that served a blob with the wrong
// content, or said it did not have it.
type BadReplica struct {
	Hash blob.Hash `json:"hash"`
	Addr string    `json:"addr"`
}

// Listing is one page of keys.
type Listing struct {
	Objects []Version `json:"objects"`
	Next    string    `json:"next,omitempty"` // pass as after= for the next page; empty on the last
}

// VersionList is one page of a key's versions, oldest first: the answer
// to GET /versions.
type VersionList struct {
	Versions []Version `json:"versions"`
	Next     uint64    `json:"next,omitempty"` // pass as after= for the next page; 0 on the last
}

// Pull asks a data server to copy a blob from another one (re-replication).
// The data server streams the blob from From, checks it against Hash as
// it stores it, and answers 201 (copied), 200 (it had an intact copy
// already), 422 (From served bytes that do not match: From's copy is bad),
// 502 (From could not be read) or 400 (Hash is not a hash, or From not a
// base URL: see CheckAddr).
type Pull struct {
	Hash blob.Hash `json:"hash"`
	From string    `json:"from"` // base URL of a data server holding the blob
}

// Stored is one entry of a data server's inventory (GET /blobs).
type Stored struct {
	Hash blob.Hash `json:"hash"`
	Size int64     `json:"size"`

	// Stamp is the copy's blob.Stamper stamp, nil if its store keeps
	// none. Garbage collection sends it back in a DELETE's StampHeader.
	// Any value is a stamp, 0 too: a Stamper may count from zero, and a
	// stamp of 0 read as "none" would send an unfenced DELETE.
	Stamp *int64 `json:"stamp,omitempty"`
}

// Headers of the requests the metadata server sends data servers.
const (
	// StampHeader on a DELETE /blobs/{hash} carries the last stamp
	// the metadata server saw for the copy: the data server removes the
	// copy only if its stamp is unchanged, and answers 412 otherwise. On
	// a 200 that lets a copy be counted (a verify, a pull or a PUT of a
	// copy already held, a HEAD with ConfirmHeader) the data server
	// names the stamp it has just moved the copy to; one that names none
	// keeps no stamps, or predates this header on answers.
	StampHeader = "X-Stamp"

	// ConfirmHeader ("1") on a HEAD /blobs/{hash} says the metadata
	// server will count the copy if it is there: the data server moves
	// its stamp forward before it answers, so that a DELETE sent before
	// is refused.
	ConfirmHeader = "X-Confirm"

	// ServerIDHeader on every answer of a data server names it: the ID
	// it beats with. The metadata server sends requests to addresses but
	// records what the answers say by ID, and an address can change
	// hands between a heartbeat and a request (two servers restarted,
	// each on the other's port); an answer that names another server is
	// treated as no answer. One that names none (an older data server)
	// is believed, as before this header. The metadata server's requests
	// name the server they are for, and a data server refuses one meant
	// for another with 421 Misdirected Request, before acting on it.
	ServerIDHeader = "X-Server-Id"
)

// DeleteMarkerHeader ("true") on a 404 of the metadata server says the
// version asked for is a delete marker (ErrDeleted), as S3's
// x-amz-delete-marker does: the object existed, and its older versions
// may still be read. Without it the 404's words alone would tell, and a
// program should not read words.
const DeleteMarkerHeader = "X-Delete-Marker"
