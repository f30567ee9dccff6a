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

// withVersionKey returns a namespace holding versions 1 to n of "k" (the
// first of blob h("k")) and the version key bad, written with bbolt
// directly: only a damaged database holds a key of another form.
func withVersionKey(t *testing.T, bad string, n int) *meta.Namespace {
	t.Helper()
	path := filepath.Join(t.TempDir(), "meta.db")
	ns, err := meta.OpenNamespace(path)
	require.NoError(t, err)
	for i := range n {
		hash := h("k")
		if i > 0 {
			hash = h(fmt.Sprint("k", i+1))
		}
		_, err = ns.Commit(meta.CommitRequest{Key: "k", Hash: hash, Size: 1}, t0)
		require.NoError(t, err)
	}
	require.NoError(t, ns.Close())
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("versions")).Put([]byte(bad), []byte(`{}`))
	}))
	require.NoError(t, db.Close())
	ns, err = meta.OpenNamespace(path)
	require.NoError(t, err)
	t.Cleanup(func() { ns.Close() })
	return ns
}

// outcome runs op, and returns its error, or what it panicked with, or
// that it did not return.
func outcome(op func() error) string {
	done := make(chan string, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Sprint("panic: ", p)
			}
		}()
		done <- fmt.Sprint(op())
	}()
	select {
	case s := <-done:
		return s
	case <-time.After(10 * time.Second): // a bound on a hang; it times nothing
		return "did not return"
	}
}

// TestAMalformedVersionKeyIsAnErrorNamingIt: every walk of the versions
// bucket that meets a key that is not an object key, a 0 byte and an
// 8-byte number says so, naming it. A short one made List panic (the
// metadata server's listing crashed it); one of another form read as
// the end of a key's versions, so that Get and Versions answered "not
// found" for a key that has versions, and Commit numbered its version 1
// again, overwriting the version 1 clients had read.
func TestAMalformedVersionKeyIsAnErrorNamingIt(t *testing.T) {
	ops := map[string]func(ns *meta.Namespace) error{
		"List": func(ns *meta.Namespace) error { _, err := ns.List("", "", 10); return err },
		"List from k": func(ns *meta.Namespace) error {
			_, err := ns.List("k", "", 10)
			return err
		},
		"Versions": func(ns *meta.Namespace) error { _, err := ns.Versions("k"); return err },
		"Get":      func(ns *meta.Namespace) error { _, err := ns.Get("k", 0); return err },
		"Commit": func(ns *meta.Namespace) error {
			_, err := ns.Commit(meta.CommitRequest{Key: "k", Hash: h("other"), Size: 5}, t0)
			return err
		},
		"Delete": func(ns *meta.Namespace) error { _, err := ns.Delete("k", t0); return err },
	}
	// Each sorts after version 1 of "k", and before any other key.
	for _, bad := range []string{
		"k\x00\x01", // short
		"k\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00",  // a byte too many
		"k\x00b\x00\x00\x00\x00\x00\x00\x00\x00\x01", // a 0 in its object key
	} {
		for name, op := range ops {
			t.Run(fmt.Sprintf("%q/%s", bad, name), func(t *testing.T) {
				ns := withVersionKey(t, bad, 1)
				assert.Contains(t, outcome(func() error { return op(ns) }), fmt.Sprintf("version key %q is not", bad))
				v, err := ns.Get("k", 1)
				if assert.NoError(t, err, "version 1 is still there") {
					assert.Equal(t, h("k"), v.Hash, "version 1 is still the one committed")
				}
			})
		}
	}
	// Keys of no object at all: List meets them.
	for _, bad := range []string{"\x01", "ab\x00\x00\x00\x00\x00\x00\x00\x01", "z\x00\x01"} {
		t.Run(fmt.Sprintf("%q/List", bad), func(t *testing.T) {
			ns := withVersionKey(t, bad, 1)
			assert.Contains(t, outcome(func() error { _, err := ns.List("", "", 10); return err }), fmt.Sprintf("version key %q is not", bad))
		})
	}
}

// TestAMalformedVersionKeyAmongAKeysVersionsIsAnError: Versions read one
// between two versions as the end of the key's versions, and answered a
// short list as the whole.
func TestAMalformedVersionKeyAmongAKeysVersionsIsAnError(t *testing.T) {
	bad := "k\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00" // after version 1, before 2
	ns := withVersionKey(t, bad, 2)
	_, err := ns.Versions("k")
	assert.ErrorContains(t, err, fmt.Sprintf("version key %q is not", bad))
}
