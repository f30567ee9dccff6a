package meta

import (
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// queueBehind holds n's group commit with an update that waits inside
// its transaction, and returns a function that starts one more call and
// returns once it is queued (so calls queue, and run, in the order they
// were started), and one that lets them all run and waits for them.
func queueBehind(n *Namespace) (start func(func()), release func()) {
	var wg sync.WaitGroup
	inFirst, gate := make(chan struct{}), make(chan struct{})
	wg.Go(func() { n.group.Update(func(*bolt.Tx) error { close(inFirst); <-gate; return nil }) })
	<-inFirst
	queued := 0
	start = func(call func()) {
		wg.Go(call)
		queued++
		for { // a condition, not a time
			n.group.mu.Lock()
			l := len(n.group.queue)
			n.group.mu.Unlock()
			if l == queued {
				return
			}
			runtime.Gosched()
		}
	}
	return start, func() { close(gate); wg.Wait() }
}

// A commit's or a delete's answer is the version its transaction wrote,
// even if that version record is gone by the time the caller reads the
// answer: Prune (KeepVersions) may remove it in the very next
// transaction, once a newer version exists. An answer read afterwards,
// in a transaction of its own, said "no such version" (404) for a commit
// that had been made, and a client that retried on it made another.
func TestAnswerIsWhatTheTransactionWrote(t *testing.T) {
	n, err := OpenNamespace(filepath.Join(t.TempDir(), "meta.db"))
	require.NoError(t, err)
	t.Cleanup(func() { n.Close() })
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	_, err = n.Commit(CommitRequest{Key: "d", Hash: blob.Sum([]byte("d")), Size: 1, Replicas: []string{"ds-1"}}, now)
	require.NoError(t, err)

	start, release := queueBehind(n)
	type answer struct {
		v   Version
		err error
	}
	committed, deleted := make(chan answer, 1), make(chan answer, 1)
	start(func() {
		v, err := n.Commit(CommitRequest{Key: "k", Hash: blob.Sum([]byte("1")), Size: 1, Replicas: []string{"ds-1"}}, now)
		committed <- answer{v, err}
	})
	start(func() {
		v, err := n.Delete("d", now)
		deleted <- answer{v, err}
	})
	forget := func(key string, number uint64) {
		start(func() {
			// What Prune does to a version that is no longer kept.
			assert.NoError(t, n.group.Update(func(tx *bolt.Tx) error {
				return tx.Bucket(versionsBucket).Delete(versionKey(key, number))
			}))
		})
	}
	forget("k", 1)
	forget("d", 2)
	release()

	c := <-committed
	if assert.NoError(t, c.err, "the commit was made") {
		assert.Equal(t, uint64(1), c.v.Number)
		assert.Equal(t, []string{"ds-1"}, c.v.Replicas)
		assert.Equal(t, blob.Sum([]byte("1")), c.v.Hash)
	}
	d := <-deleted
	if assert.NoError(t, d.err, "the delete marker was added") {
		assert.Equal(t, uint64(2), d.v.Number)
		assert.True(t, d.v.Deleted)
	}
}
