package meta

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

func openGroup(t testing.TB) *groupCommit {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "g.db"), 0o600, nil)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte("b"))
		return err
	}))
	return &groupCommit{db: db}
}

// holdFirst starts an update that waits on release inside its
// transaction, then n more, and returns once all n are queued behind it.
// Each update i writes key i; ids[i] is the transaction it ran in, errs[i]
// what Update returned. fail(i) is the error update i returns.
func holdFirst(t *testing.T, g *groupCommit, n int, fail func(int) error) (release func(), wait func() (ids []int, errs []error)) {
	ids, errs := make([]int, n+1), make([]error, n+1)
	inFirst, gate := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	do := func(i int) {
		errs[i] = g.Update(func(tx *bolt.Tx) error {
			if i == 0 {
				close(inFirst)
				<-gate
			}
			ids[i] = tx.ID()
			if err := tx.Bucket([]byte("b")).Put(fmt.Append(nil, i), []byte("x")); err != nil {
				return err
			}
			return fail(i)
		})
	}
	wg.Go(func() { do(0) })
	<-inFirst
	for i := 1; i <= n; i++ {
		wg.Go(func() { do(i) })
	}
	for queued := 0; queued < n; runtime.Gosched() { // a condition, not a time
		g.mu.Lock()
		queued = len(g.queue)
		g.mu.Unlock()
	}
	return func() { close(gate) }, func() ([]int, []error) { wg.Wait(); return ids, errs }
}

// Updates that arrive while a transaction commits all go into the next
// one: one transaction, one pair of disk flushes, for all of them.
func TestUpdatesWaitingShareOneTransaction(t *testing.T) {
	g := openGroup(t)
	release, wait := holdFirst(t, g, 5, func(int) error { return nil })
	release()
	ids, errs := wait()
	for i, err := range errs {
		assert.NoError(t, err, "update %d", i)
	}
	for i := 2; i <= 5; i++ {
		assert.Equal(t, ids[1], ids[i], "update %d ran in a transaction of its own", i)
	}
	assert.NotEqual(t, ids[0], ids[1], "the first ran alone, at once")
	g.mu.Lock()
	defer g.mu.Unlock()
	assert.False(t, g.running, "the last transaction handed over to no one")
}

// One failing update fails only its own caller: its transaction is rolled
// back and the others run again, together, and are kept.
func TestAFailedUpdateFailsOnlyItsCaller(t *testing.T) {
	g := openGroup(t)
	bad := errors.New("no such object")
	release, wait := holdFirst(t, g, 3, func(i int) error {
		if i == 2 {
			return bad
		}
		return nil
	})
	release()
	ids, errs := wait()
	assert.Equal(t, []error{nil, nil, bad, nil}, errs)
	assert.Equal(t, ids[1], ids[3], "the others shared one transaction again")
	require.NoError(t, g.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("b"))
		for i := range 4 {
			assert.Equal(t, i != 2, b.Get(fmt.Append(nil, i)) != nil, "key %d kept", i)
		}
		return nil
	}))
}

// An update that panics is an error for its own caller only, whoever
// runs the transaction, and the next updates run.
func TestAPanickingUpdateFailsOnlyItsCaller(t *testing.T) {
	g := openGroup(t)
	release, wait := holdFirst(t, g, 3, func(i int) error {
		if i == 2 {
			panic("boom")
		}
		return nil
	})
	release()
	_, errs := wait()
	assert.NoError(t, errs[0])
	assert.NoError(t, errs[1], "it ran the transaction, and its update is fine")
	assert.ErrorContains(t, errs[2], "an update panicked: boom")
	assert.NoError(t, errs[3])
	require.NoError(t, g.db.View(func(tx *bolt.Tx) error {
		for i := range 4 {
			assert.Equal(t, i != 2, tx.Bucket([]byte("b")).Get(fmt.Append(nil, i)) != nil, "key %d kept", i)
		}
		return nil
	}))
	assert.NoError(t, g.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put([]byte("k"), []byte("v")) }))
}

// An update that ends its goroutine (runtime.Goexit, as a test's FailNow
// does) fails the others of its transaction instead of leaving them, and
// every later update, waiting.
func TestAnUpdateThatEndsItsGoroutineStallsNobody(t *testing.T) {
	g := openGroup(t)
	release, wait := holdFirst(t, g, 3, func(i int) error {
		if i == 2 {
			runtime.Goexit()
		}
		return nil
	})
	release()
	waited := make(chan []error, 1)
	go func() { _, errs := wait(); waited <- errs }()
	var errs []error
	select {
	case errs = <-waited:
	case <-time.After(10 * time.Second): // a bound on a hang, not a wait
		t.Fatal("callers were left waiting")
	}
	assert.NoError(t, errs[0])
	stopped := 0
	for _, err := range errs[1:] {
		if err != nil && strings.Contains(err.Error(), "runner stopped") {
			stopped++
		}
	}
	assert.Equal(t, 2, stopped, "the two callers besides the one whose goroutine ended: %v", errs)
	assert.NoError(t, g.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put([]byte("k"), []byte("v")) }))
}

// BenchmarkCommitParallel: sixteen goroutines each append versions of
// keys of their own, through the group (Namespace's way) or each in a
// transaction of its own (bbolt's Update alone). The database is a file
// in a temporary directory, so each transaction waits for the disk.
func BenchmarkCommitParallel(b *testing.B) {
	for _, way := range []string{"group", "one-transaction-each"} {
		b.Run(way, func(b *testing.B) {
			ns, err := OpenNamespace(filepath.Join(b.TempDir(), "meta.db"))
			require.NoError(b, err)
			defer ns.Close()
			update := ns.group.Update
			if way != "group" {
				update = ns.db.Update
			}
			var mu sync.Mutex
			n := 0
			b.SetParallelism(8) // GOMAXPROCS 2: 16 goroutines
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					mu.Lock()
					n++
					key := fmt.Sprint("k/", n)
					mu.Unlock()
					err := update(func(tx *bolt.Tx) error {
						_, err := appendVersion(tx, key, record{Size: 4096})
						return err
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
