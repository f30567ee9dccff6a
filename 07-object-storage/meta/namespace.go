package meta

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// Errors the namespace returns; test them with errors.Is.
var (
	ErrNotFound = errors.New("no such object")
	ErrDeleted  = errors.New("object deleted") // the version asked for is a delete marker
)

// Namespace maps object keys to versions, and blobs to the data servers
// that hold them, in a bbolt file. bbolt runs one write transaction at a
// time, and the updates of one transaction run one after the other, so
// concurrent writers of one key get distinct version numbers in commit
// order; a committed transaction is on disk (bbolt fsyncs) before Commit
// returns. Concurrent updates share transactions (groupCommit), and so
// the disk's flushes.
//
// Four buckets:
//
//	versions: key + 0x00 + 8-byte big-endian version -> record (JSON)
//	blobs:    hash -> the IDs of the data servers holding it (JSON)
//	chunks:   hash -> the hashes of its pieces (blob.Chunks, JSON)
//	servers:  data server ID -> its last known address
//
// Chunk lists have a bucket of their own because they are long (67 bytes
// of JSON per MiB of blob) and only a reader of the blob's content needs one:
// looking up a version, or listing keys, does not read them.
//
// Keys never contain 0x00 (ValidateKey refuses control characters), and
// 0x00 sorts before every other byte, so the versions of one key are
// adjacent, in number order, and keys sort as strings do.
type Namespace struct {
	db    *bolt.DB
	group groupCommit // every update of the namespace goes through it
	// scanLimit bounds the keys one List page looks at (maxListScan;
	// smaller in tests).
	scanLimit int
}

// maxListScan is the most keys one page of List looks at, live or
// deleted: a prefix under which a million keys were deleted must not
// make one request read a million keys, holding a read transaction all
// the while. A page that reaches it ends early, with Next set, and may
// hold fewer than limit objects, or none; a caller goes on until Next is
// empty, as with S3's ListObjectsV2, which also may return a short page.
const maxListScan = 10_000

var (
	versionsBucket = []byte("versions")
	blobsBucket    = []byte("blobs")
	chunksBucket   = []byte("chunks")
	serversBucket  = []byte("servers")
)

// record is a version as stored. A field added later is omitempty, and
// its zero value means what a record written before it existed meant:
// a record without "content_type" has no type.
type record struct {
	Hash        blob.Hash `json:"hash,omitempty"`
	Size        int64     `json:"size"`
	Created     time.Time `json:"created"`
	Deleted     bool      `json:"deleted,omitempty"`
	ContentType string    `json:"content_type,omitempty"`
}

type blobRecord struct {
	Replicas []string `json:"replicas"`
}

// lockWait is how long OpenNamespace waits for the database's lock: one
// process at a time may have it open. It must not be 0, which bbolt
// takes as "wait for ever". Tests set it with SetLockWait.
var lockWait = 5 * time.Second

// OpenNamespace opens (creating it if need be) the database file path.
func OpenNamespace(path string) (*Namespace, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockWait})
	if errors.Is(err, bolt.ErrTimeout) {
		// bbolt's own word for it, "timeout", does not say what waited.
		return nil, fmt.Errorf("meta: opening %s: another process has it open (a metadata server still running on it?); waited %v for it: %w", path, lockWait, err)
	}
	if err != nil {
		return nil, fmt.Errorf("meta: opening %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{versionsBucket, blobsBucket, chunksBucket, serversBucket} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		// bbolt syncs the file, never the directory that names it: a
		// database it has just created could vanish in a crash with every
		// version committed to it. Synced at every open, as one made by a
		// run that died before this may never have been.
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("meta: %w", err)
	}
	return &Namespace{db: db, group: groupCommit{db: db}, scanLimit: maxListScan}, nil
}

// syncDir is blob.SyncDir, a variable so that a test can see what is
// synced.
var syncDir = blob.SyncDir

// Close closes the database file.
func (n *Namespace) Close() error { return n.db.Close() }

func versionKey(key string, number uint64) []byte {
	k := make([]byte, 0, len(key)+9)
	k = append(k, key...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, number)
}

// splitVersionKey returns the object key and the version number of k,
// or an error naming k if it is not a non-empty key with no 0x00 in it,
// a 0x00 and 8 bytes. Only a damaged database holds such a k, but every
// walk of the versions bucket meets it: read as a version, it would be a
// panic (too short to split) or the end of a key's versions where there
// are more, and a key's next version would reuse a number.
func splitVersionKey(k []byte) (string, uint64, error) {
	i := len(k) - 9
	if i < 1 || k[i] != 0 || bytes.IndexByte(k[:i], 0) >= 0 {
		return "", 0, fmt.Errorf("version key %q is not an object key, a 0 byte and an 8-byte number", k)
	}
	return string(k[:i]), binary.BigEndian.Uint64(k[i+1:]), nil
}

// latest returns the cursor's last version of key, or number 0. A
// malformed key where key's last version would be is an error.
func latest(c *bolt.Cursor, key string) (uint64, []byte, error) {
	// Seek past every version of key (0x01 sorts after key's 0x00), then
	// step back once.
	k, v := c.Seek(append([]byte(key), 1))
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, append([]byte(key), 0)) {
		return 0, nil, nil
	}
	// Well formed, k is key's: no key has a 0x00 in it.
	_, num, err := splitVersionKey(k)
	if err != nil {
		return 0, nil, err
	}
	return num, v, nil
}

// Commit adds a version of req.Key holding blob req.Hash, with its size
// and content type, and records where the blob is (req.Replicas: data
// server IDs here, not the addresses a client sends) and, if req.Chunks
// is not nil, the hashes of its pieces.
func (n *Namespace) Commit(req CommitRequest, now time.Time) (Version, error) {
	if err := ValidateKey(req.Key); err != nil {
		return Version{}, err
	}
	if err := ValidateContentType(req.ContentType); err != nil {
		return Version{}, fmt.Errorf("meta: commit %q: %w", req.Key, err)
	}
	if req.Chunks != nil {
		if err := req.Chunks.Check(req.Size); err != nil {
			return Version{}, fmt.Errorf("meta: commit %q: %w", req.Key, err)
		}
	}
	rec := record{Hash: req.Hash, Size: req.Size, Created: now.UTC(), ContentType: req.ContentType}
	// The answer is read in the transaction that writes the version: read
	// after it, in one of its own, the version may be gone already (Prune
	// removes one that a newer version has pushed out of KeepVersions),
	// and a commit that was made would be answered "no such version".
	var v Version
	err := n.group.Update(func(tx *bolt.Tx) error {
		replaced, err := hasLiveLatest(tx, req.Key)
		if err != nil {
			return err
		}
		num, err := appendVersion(tx, req.Key, rec)
		if err != nil {
			return err
		}
		if req.Chunks != nil {
			if err := setChunks(tx, req.Hash, *req.Chunks); err != nil {
				return err
			}
		}
		if err := addReplicas(tx, req.Hash, req.Replicas); err != nil {
			return err
		}
		if v, err = written(tx, req.Key, num); err != nil {
			return err
		}
		v.Replaced = replaced
		return nil
	})
	if err != nil {
		return Version{}, fmt.Errorf("meta: commit %q: %w", req.Key, err)
	}
	return v, nil
}

// written returns version number of key as the transaction tx has
// just written it.
func written(tx *bolt.Tx, key string, number uint64) (Version, error) {
	data := tx.Bucket(versionsBucket).Get(versionKey(key, number))
	if data == nil {
		return Version{}, fmt.Errorf("version %d just written is missing", number)
	}
	return toVersion(tx, key, number, data)
}

// hasLiveLatest reports whether key's latest version is an object, not
// a delete marker: a version committed now replaces it.
func hasLiveLatest(tx *bolt.Tx, key string) (bool, error) {
	num, data, err := latest(tx.Bucket(versionsBucket).Cursor(), key)
	if num == 0 || err != nil {
		return false, err
	}
	var rec record
	if err := json.Unmarshal(data, &rec); err != nil {
		return false, err
	}
	return !rec.Deleted, nil
}

func appendVersion(tx *bolt.Tx, key string, rec record) (uint64, error) {
	b := tx.Bucket(versionsBucket)
	last, _, err := latest(b.Cursor(), key)
	if err != nil {
		return 0, err
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return 0, err
	}
	return last + 1, b.Put(versionKey(key, last+1), data)
}

// setChunks records a blob's chunk list unless it has one. The same
// bytes always cut into the same pieces, so a second list can differ
// only if a writer has a bug; the first stays, since readers may be
// using it. (A reader that finds a list no replica matches has it
// dropped: see DropChunks.)
func setChunks(tx *bolt.Tx, hash blob.Hash, chunks blob.Chunks) error {
	b := tx.Bucket(chunksBucket)
	if b.Get([]byte(hash)) != nil {
		return nil
	}
	data, err := json.Marshal(chunks)
	if err != nil {
		return err
	}
	return b.Put([]byte(hash), data)
}

// DropChunks forgets blob hash's chunk list, if it has one. A list is
// the writer's word, which nobody checks against the blob's name; a
// reader that finds a list no replica matches drops it, and reads then
// fetch the blob whole until a later commit records a list again.
func (n *Namespace) DropChunks(hash blob.Hash) error {
	return n.group.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(chunksBucket).Delete([]byte(hash))
	})
}

// Chunks returns the chunk list recorded for blob hash, or ErrNotFound
// if none was (a blob written without one, or one that is gone).
func (n *Namespace) Chunks(hash blob.Hash) (blob.Chunks, error) {
	var c blob.Chunks
	err := n.db.View(func(tx *bolt.Tx) error {
		data := tx.Bucket(chunksBucket).Get([]byte(hash))
		if data == nil {
			return fmt.Errorf("chunks of blob %s: %w", hash.Short(), ErrNotFound)
		}
		return json.Unmarshal(data, &c)
	})
	return c, err
}

func addReplicas(tx *bolt.Tx, hash blob.Hash, replicas []string) error {
	b := tx.Bucket(blobsBucket)
	var br blobRecord
	if data := b.Get([]byte(hash)); data != nil {
		if err := json.Unmarshal(data, &br); err != nil {
			return err
		}
	}
	for _, r := range replicas {
		if !slices.Contains(br.Replicas, r) {
			br.Replicas = append(br.Replicas, r)
		}
	}
	slices.Sort(br.Replicas)
	data, err := json.Marshal(br)
	if err != nil {
		return err
	}
	return b.Put([]byte(hash), data)
}

// Delete adds a delete marker as key's newest version. Older versions
// stay readable by number. Deleting a missing key is ErrNotFound; a key
// whose latest version is a delete marker, ErrDeleted, which the server
// marks as it marks a GET of one (DeleteMarkerHeader).
func (n *Namespace) Delete(key string, now time.Time) (Version, error) {
	if err := ValidateKey(key); err != nil {
		return Version{}, err
	}
	var v Version
	err := n.group.Update(func(tx *bolt.Tx) error {
		last, data, err := latest(tx.Bucket(versionsBucket).Cursor(), key)
		if err != nil {
			return err
		}
		if last == 0 {
			return ErrNotFound
		}
		var rec record
		if err := json.Unmarshal(data, &rec); err != nil {
			return err
		}
		if rec.Deleted {
			// Deleted already: a second marker would hide nothing more.
			// ErrDeleted, not ErrNotFound, so that the caller can say
			// the key is deleted, not that it never was.
			return fmt.Errorf("its latest version %d is a delete marker: %w", last, ErrDeleted)
		}
		num, err := appendVersion(tx, key, record{Created: now.UTC(), Deleted: true})
		if err != nil {
			return err
		}
		v, err = written(tx, key, num) // in the transaction, as Commit's
		return err
	})
	if err != nil {
		return Version{}, fmt.Errorf("meta: delete %q: %w", key, err)
	}
	return v, nil
}

// Get returns version number of key, or its latest version if number is
// 0. A delete marker comes back with ErrDeleted.
func (n *Namespace) Get(key string, number uint64) (Version, error) {
	if err := ValidateKey(key); err != nil {
		return Version{}, err
	}
	var v Version
	err := n.db.View(func(tx *bolt.Tx) error {
		var data []byte
		if number == 0 {
			var err error
			if number, data, err = latest(tx.Bucket(versionsBucket).Cursor(), key); err != nil {
				return err
			}
		} else if data = tx.Bucket(versionsBucket).Get(versionKey(key, number)); data == nil {
			// Say which version: the key itself may well exist.
			return fmt.Errorf("has no version %d: %w", number, ErrNotFound)
		}
		if data == nil {
			return ErrNotFound
		}
		var err error
		v, err = toVersion(tx, key, number, data)
		return err
	})
	if err != nil {
		return Version{}, fmt.Errorf("meta: %q: %w", key, err)
	}
	if v.Deleted {
		return v, fmt.Errorf("meta: %q version %d: %w", key, v.Number, ErrDeleted)
	}
	return v, nil
}

func toVersion(tx *bolt.Tx, key string, number uint64, data []byte) (Version, error) {
	var rec record
	if err := json.Unmarshal(data, &rec); err != nil {
		return Version{}, err
	}
	v := Version{Key: key, Number: number, Hash: rec.Hash, Size: rec.Size, Created: rec.Created, Deleted: rec.Deleted, ContentType: rec.ContentType}
	if !rec.Deleted {
		var err error
		if v.Replicas, err = replicas(tx, rec.Hash); err != nil {
			return Version{}, err
		}
	}
	return v, nil
}

func replicas(tx *bolt.Tx, hash blob.Hash) ([]string, error) {
	data := tx.Bucket(blobsBucket).Get([]byte(hash))
	if data == nil {
		return nil, nil
	}
	var br blobRecord
	err := json.Unmarshal(data, &br)
	return br.Replicas, err
}

// Versions returns every version of key, oldest first, delete markers
// included. The server hands them out by pages (VersionPage); this is
// for tests and tools that know a key has few.
func (n *Namespace) Versions(key string) ([]Version, error) {
	l, err := n.VersionPage(key, 0, 0)
	return l.Versions, err
}

// VersionPage returns up to limit versions of key numbered above after,
// oldest first, delete markers included; limit 0 means no limit. A key
// with no versions at all is ErrNotFound; a page past its last version
// is an empty last page.
func (n *Namespace) VersionPage(key string, after uint64, limit int) (VersionList, error) {
	if err := ValidateKey(key); err != nil {
		return VersionList{}, err
	}
	list := VersionList{Versions: []Version{}}
	err := n.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(versionsBucket).Cursor()
		if last, _, err := latest(c, key); err != nil {
			return err
		} else if last == 0 {
			return ErrNotFound
		} else if after >= last {
			return nil // past the end (and after+1 below cannot overflow)
		}
		prefix := append([]byte(key), 0)
		for k, data := c.Seek(versionKey(key, after+1)); k != nil && bytes.HasPrefix(k, prefix); k, data = c.Next() {
			_, num, err := splitVersionKey(k)
			if err != nil {
				return err
			}
			if limit > 0 && len(list.Versions) == limit {
				list.Next = list.Versions[limit-1].Number
				return nil
			}
			v, err := toVersion(tx, key, num, data)
			if err != nil {
				return err
			}
			list.Versions = append(list.Versions, v)
		}
		return nil
	})
	if err != nil {
		return VersionList{}, fmt.Errorf("meta: versions of %q: %w", key, err)
	}
	return list, nil
}

// List returns the latest versions of up to limit keys that start with
// prefix and sort after after, skipping deleted keys. Next is the key to
// pass as after for the next page, empty on the last page. A page looks
// at no more than maxListScan keys (see there): it can be short, or
// empty, and still not be the last.
func (n *Namespace) List(prefix, after string, limit int) (Listing, error) {
	if limit <= 0 {
		limit = 1000
	}
	list := Listing{Objects: []Version{}}
	var last string // the last key looked at, live or deleted
	err := n.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(versionsBucket).Cursor()
		start := []byte(prefix)
		if after >= prefix {
			start = append([]byte(after), 1) // the first key after every version of after
		}
		k, _ := c.Seek(start)
		for scanned := 0; k != nil && bytes.HasPrefix(k, []byte(prefix)); scanned++ {
			key, _, err := splitVersionKey(k)
			if err != nil {
				return err
			}
			if !strings.HasPrefix(key, prefix) {
				break // prefix runs into the 0x00 after key: no key holds a 0x00
			}
			if scanned == n.scanLimit {
				list.Next = last // more keys, but this page has looked at enough
				return nil
			}
			num, data, err := latest(c, key)
			if err != nil {
				return err
			}
			v, err := toVersion(tx, key, num, data)
			if err != nil {
				return err
			}
			if !v.Deleted {
				if len(list.Objects) == limit {
					list.Next = list.Objects[limit-1].Key
					return nil
				}
				list.Objects = append(list.Objects, v)
			}
			last = key
			k, _ = c.Seek(append([]byte(key), 1))
		}
		return nil
	})
	if err != nil {
		return Listing{}, fmt.Errorf("meta: list %q: %w", prefix, err)
	}
	return list, nil
}

// Replicas returns the data servers recorded as holding hash.
func (n *Namespace) Replicas(hash blob.Hash) ([]string, error) {
	var rs []string
	err := n.db.View(func(tx *bolt.Tx) error {
		var err error
		rs, err = replicas(tx, hash)
		return err
	})
	return rs, err
}

// DropReplica forgets that data server id holds hash: it served bad
// bytes, or none.
func (n *Namespace) DropReplica(hash blob.Hash, id string) error {
	return n.group.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(blobsBucket)
		rs, err := replicas(tx, hash)
		if err != nil || rs == nil {
			return err
		}
		data, err := json.Marshal(blobRecord{Replicas: slices.DeleteFunc(rs, func(r string) bool { return r == id })})
		if err != nil {
			return err
		}
		return b.Put([]byte(hash), data)
	})
}

// ServerAddr returns the last address recorded for data server id.
func (n *Namespace) ServerAddr(id string) (string, bool) {
	var addr []byte
	n.db.View(func(tx *bolt.Tx) error {
		addr = bytes.Clone(tx.Bucket(serversBucket).Get([]byte(id)))
		return nil
	})
	return string(addr), addr != nil
}

// SetServerAddr records data server id's address. It writes only when
// the address changed, so that heartbeats do not cost a disk sync each.
func (n *Namespace) SetServerAddr(id, addr string) error {
	if old, ok := n.ServerAddr(id); ok && old == addr {
		return nil
	}
	return n.group.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(serversBucket).Put([]byte(id), []byte(addr))
	})
}

// AddReplicas records that the data servers ids hold hash too (a repair
// made new copies). The blob must be known already.
func (n *Namespace) AddReplicas(hash blob.Hash, ids []string) error {
	return n.group.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(blobsBucket).Get([]byte(hash)) == nil {
			return fmt.Errorf("blob %s: %w", hash.Short(), ErrNotFound)
		}
		return addReplicas(tx, hash, ids)
	})
}
