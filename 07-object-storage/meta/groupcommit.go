package meta

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// groupCommit runs the namespace's updates in as few bbolt transactions
// as it can without making anyone wait for company: group commit, as
// databases do it. bbolt runs one write transaction at a time and syncs
// the file twice in each, so sixteen commits one after the other wait for
// thirty-two disk flushes, each the wait of all those behind it. Here an
// update that finds no transaction running starts one at once; updates
// that arrive while it commits queue up, and when it is done the first of
// them runs every queued update in the next transaction. Under load a
// transaction carries as many updates as arrived during the last one; at
// rest, one.
//
// bbolt's own DB.Batch does the same but waits up to MaxBatchDelay (10 ms
// by default) for updates to join; measured with sixteen concurrent
// commits (BenchmarkCommitParallel), it was no faster than Update, while
// this was seven to ten times faster.
//
// An update may run more than once: if one update of a transaction fails
// (or panics), the transaction is rolled back, the failed one gets the
// error it met in its turn (after the updates before it in the
// transaction), and the others run again, together, in a new one without
// it: as if it had never been asked. (A DELETE of a missing key fails so,
// and must not cost the others their shared transaction.) Updates must therefore only write through tx and set
// their caller's variables, as the namespace's do.
type groupCommit struct {
	db *bolt.DB

	mu      sync.Mutex
	queue   []*update
	running bool // a transaction is running, or about to
}

// update is one caller's function and, once done, its result. done gets
// false when the update ran, true when its caller is to run the next
// transaction instead.
type update struct {
	fn   func(*bolt.Tx) error
	err  error
	done chan bool
}

// Update runs fn in a write transaction, with whatever other updates are
// waiting, and returns fn's error or the transaction's.
func (g *groupCommit) Update(fn func(*bolt.Tx) error) error {
	u := &update{fn: fn, done: make(chan bool, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, u)
	lead := !g.running
	g.running = true
	g.mu.Unlock()
	if !lead {
		if lead = <-u.done; !lead {
			return u.err
		}
	}
	g.mu.Lock()
	batch := g.queue
	g.queue = nil
	g.mu.Unlock()
	ran := false
	defer func() {
		// An update that ended its goroutine (runtime.Goexit: a test's
		// FailNow) must not leave the others, or the queue, waiting.
		if !ran {
			for _, w := range batch[1:] {
				w.err = errors.New("meta: the transaction's runner stopped")
			}
			g.wake(batch)
		}
		g.handOver()
	}()
	g.run(batch)
	ran = true
	return u.err
}

// run commits batch in as few transactions as its failures allow, sets
// every update's result, and tells every update's caller but this one
// (the first) that it is done.
func (g *groupCommit) run(batch []*update) {
	pending := slices.Clone(batch)
	for len(pending) > 0 {
		failed, err := g.commit(pending)
		if failed < 0 { // committed, or the transaction itself failed
			for _, u := range pending {
				u.err = err
			}
			break
		}
		pending[failed].err = err
		pending = slices.Delete(pending, failed, failed+1)
	}
	g.wake(batch)
}

// commit runs updates in one transaction. If one of them fails, or
// panics (rather than taking down whichever caller happens to run the
// transaction), it returns that update's position and its error; else
// -1 and the transaction's error.
func (g *groupCommit) commit(updates []*update) (failed int, err error) {
	failed = -1
	current := 0
	defer func() {
		if p := recover(); p != nil {
			failed, err = current, fmt.Errorf("meta: an update panicked: %v", p)
		}
	}()
	var fnErr error
	err = g.db.Update(func(tx *bolt.Tx) error {
		for current = range updates {
			if fnErr = updates[current].fn(tx); fnErr != nil {
				return fnErr
			}
		}
		return nil
	})
	if fnErr != nil {
		return current, fnErr
	}
	return -1, err
}

func (g *groupCommit) wake(batch []*update) {
	for _, u := range batch[1:] {
		u.done <- false
	}
}

// handOver makes the first queued update's caller run the next
// transaction, or marks none running.
func (g *groupCommit) handOver() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) == 0 {
		g.running = false
		return
	}
	g.queue[0].done <- true
}
