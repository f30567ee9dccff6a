package meta

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// The namespace's half of garbage collection: which versions to forget,
// which blobs are still referenced, and since when a blob has been
// garbage. The metadata server's GC (gc.go) does the rest.

// garbageBucket maps a blob's hash to the time (8-byte Unix nanoseconds)
// a GC round first found it unreferenced. It is in the database, so a
// restart of the metadata server does not restart the grace period.
var garbageBucket = []byte("garbage")

// Prune applies the version policy to every key and returns how many
// version records it removed. keep <= 0 keeps everything.
//
// The policy follows S3's lifecycle rules, by count rather than by age:
//
//   - a key keeps its keep newest versions that hold data (the current
//     one is always among them);
//   - a delete marker is kept while it hides a kept version (one older
//     than it); one with nothing left behind it is expired, as S3
//     expires an "expired object delete marker";
//   - the newest record of a key always stays, even a lone delete
//     marker, so that a version number is never used twice: a client
//     that cached "version 3" must never get different bytes for it.
func (n *Namespace) Prune(keep int) (int, error) {
	if keep <= 0 {
		return 0, nil
	}
	removed := 0
	err := n.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(versionsBucket).Cursor()
		var doomed [][]byte
		for k, _ := c.First(); k != nil; {
			// Only a damaged database holds a key of another form, but
			// the walk below would never move past it.
			key, _, err := splitVersionKey(k)
			if err != nil {
				return err
			}
			prefix := append([]byte(key), 0)
			type ver struct {
				k       []byte
				deleted bool
			}
			var vs []ver // oldest first
			for ; k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8; k, _ = c.Next() {
				var rec record
				if err := json.Unmarshal(c.Bucket().Get(k), &rec); err != nil {
					return fmt.Errorf("%q: %w", key, err)
				}
				vs = append(vs, ver{bytes.Clone(k), rec.Deleted})
			}
			kept, hides := 0, false // data versions kept so far (newest first); does a kept one lie older?
			// Walk oldest to newest to know, for each marker, whether a
			// kept data version lies behind it: first find which data
			// versions are kept, counting from the newest.
			keepData := map[int]bool{}
			for i := len(vs) - 1; i >= 0 && kept < keep; i-- {
				if !vs[i].deleted {
					keepData[i] = true
					kept++
				}
			}
			for i, v := range vs {
				switch {
				case i == len(vs)-1:
				case !v.deleted && !keepData[i]:
					doomed = append(doomed, v.k)
				case v.deleted && !hides:
					doomed = append(doomed, v.k)
				}
				if keepData[i] {
					hides = true
				}
			}
		}
		for _, k := range doomed {
			if err := tx.Bucket(versionsBucket).Delete(k); err != nil {
				return err
			}
		}
		removed = len(doomed)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("meta: prune: %w", err)
	}
	return removed, nil
}

// Referenced returns the hashes that some version refers to, with their
// sizes.
func (n *Namespace) Referenced() (map[blob.Hash]int64, error) {
	refs := map[blob.Hash]int64{}
	err := n.db.View(func(tx *bolt.Tx) error { return referenced(tx, refs) })
	return refs, err
}

func referenced(tx *bolt.Tx, refs map[blob.Hash]int64) error {
	return tx.Bucket(versionsBucket).ForEach(func(k, v []byte) error {
		var rec record
		if err := json.Unmarshal(v, &rec); err != nil {
			return err
		}
		if !rec.Deleted {
			refs[rec.Hash] = rec.Size
		}
		return nil
	})
}

// Blobs returns every blob the namespace records, with its replicas' IDs.
func (n *Namespace) Blobs() (map[blob.Hash][]string, error) {
	all := map[blob.Hash][]string{}
	err := n.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(blobsBucket).ForEach(func(k, v []byte) error {
			var br blobRecord
			if err := json.Unmarshal(v, &br); err != nil {
				return err
			}
			all[blob.Hash(k)] = br.Replicas
			return nil
		})
	})
	return all, err
}

// MarkGarbage records now as the first time each of hashes was found
// unreferenced, unless an earlier time is recorded, and forgets every
// recorded blob not in hashes (it is referenced again, or gone). It
// returns since when each of hashes has been garbage.
func (n *Namespace) MarkGarbage(hashes []blob.Hash, now time.Time) (map[blob.Hash]time.Time, error) {
	since := map[blob.Hash]time.Time{}
	err := n.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(garbageBucket)
		if err != nil {
			return err
		}
		want := map[blob.Hash]bool{}
		for _, h := range hashes {
			want[h] = true
			if v := b.Get([]byte(h)); len(v) == 8 {
				since[h] = time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()
				continue
			}
			since[h] = now.UTC()
			if err := b.Put([]byte(h), binary.BigEndian.AppendUint64(nil, uint64(now.UnixNano()))); err != nil {
				return err
			}
		}
		var stale [][]byte
		b.ForEach(func(k, _ []byte) error {
			if !want[blob.Hash(k)] {
				stale = append(stale, bytes.Clone(k))
			}
			return nil
		})
		for _, k := range stale {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	return since, nil
}

// Placed restarts the grace period of blob hash at now, if it is marked
// as garbage: a placement for a write is about to offer its copies, and
// the metadata server's memory of recent placements does not survive a
// restart. A blob not marked costs one read, no write.
func (n *Namespace) Placed(hash blob.Hash, now time.Time) error {
	var marked bool
	n.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(garbageBucket); b != nil { // made by the first GC
			marked = b.Get([]byte(hash)) != nil
		}
		return nil
	})
	if !marked {
		return nil
	}
	err := n.group.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(garbageBucket)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(hash))
		if len(v) != 8 || int64(binary.BigEndian.Uint64(v)) >= now.UnixNano() {
			return nil // collected or referenced since the look, or marked later already
		}
		return b.Put([]byte(hash), binary.BigEndian.AppendUint64(nil, uint64(now.UnixNano())))
	})
	if err != nil {
		return fmt.Errorf("meta: %w", err)
	}
	return nil
}

// ForgetBlobs removes the records of those of hashes that no version
// refers to, and returns them: the caller may now delete their copies.
// The check and the removal are one transaction, so a commit cannot
// slip in between.
func (n *Namespace) ForgetBlobs(hashes []blob.Hash) (map[blob.Hash][]string, error) {
	forgotten := map[blob.Hash][]string{}
	err := n.db.Update(func(tx *bolt.Tx) error {
		refs := map[blob.Hash]int64{}
		if err := referenced(tx, refs); err != nil {
			return err
		}
		garbage, err := tx.CreateBucketIfNotExists(garbageBucket)
		if err != nil {
			return err
		}
		for _, h := range hashes {
			if _, ok := refs[h]; ok {
				continue
			}
			rs, err := replicas(tx, h)
			if err != nil {
				return err
			}
			forgotten[h] = rs
			if err := tx.Bucket(blobsBucket).Delete([]byte(h)); err != nil {
				return err
			}
			if err := tx.Bucket(chunksBucket).Delete([]byte(h)); err != nil {
				return err
			}
			if err := garbage.Delete([]byte(h)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	return forgotten, nil
}

// Servers returns every data server ID the namespace has an address for.
func (n *Namespace) Servers() (map[string]string, error) {
	all := map[string]string{}
	err := n.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(serversBucket).ForEach(func(k, v []byte) error {
			all[string(k)] = string(v)
			return nil
		})
	})
	return all, err
}
