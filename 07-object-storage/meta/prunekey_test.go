package meta_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/gocourse/gateway/07-object-storage/meta"
)

// Only a damaged database holds a version key that is not an object key,
// a 0 byte and an 8-byte number. Prune names it in its error: its walk of
// a key's versions never moved past one whose 0 byte was out of place
// (it looped for ever), and one shorter than 9 bytes made it panic. An
// empty object key, or one with a 0 byte, is no object's either.
func TestPruneNamesAMalformedVersionKey(t *testing.T) {
	for _, bad := range []string{"ab\x00\x00\x00\x00\x00\x00\x00\x01", "k\x00\x01", "\x00\x00\x00\x00\x00\x00\x00\x00\x01", "k\x00b\x00\x00\x00\x00\x00\x00\x00\x00\x01"} {
		t.Run(fmt.Sprintf("%q", bad), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "meta.db")
			ns, err := meta.OpenNamespace(path)
			require.NoError(t, err)
			_, err = ns.Commit(meta.CommitRequest{Key: "k", Hash: h("k"), Size: 1}, t0)
			require.NoError(t, err)
			require.NoError(t, ns.Close())
			db, err := bolt.Open(path, 0o600, nil)
			require.NoError(t, err)
			require.NoError(t, db.Update(func(tx *bolt.Tx) error {
				return tx.Bucket([]byte("versions")).Put([]byte(bad), []byte(`{}`))
			}))
			require.NoError(t, db.Close())

			ns, err = meta.OpenNamespace(path)
			require.NoError(t, err)
			done := make(chan error, 1)
			go func() {
				_, err := ns.Prune(1)
				done <- err
			}()
			select {
			case err := <-done:
				assert.ErrorContains(t, err, fmt.Sprintf("%q", bad))
				assert.NoError(t, ns.Close())
			case <-time.After(10 * time.Second): // a bound on a hang; it times nothing
				t.Fatal("Prune did not return") // and ns stays open: Prune holds its lock
			}
		})
	}
}
