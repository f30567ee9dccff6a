package client

import (
	"slices"
	"sync"
	"time"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/recent"
)

// doubts are the copies this client found bad and reported, which it
// tries last when it reads their blob (last, not never: every read is
// verified, and a doubted copy may be the only one left, or rewritten
// since by a read repair).
//
// A report is answered before the metadata server has checked it, and
// the copy stays on record until the check is done: it re-hashes the
// copy, at the data servers' pace and behind other checks. So the
// lookups made meanwhile, and the client's cache of them, list the copy
// the client has just found bad, often first; without doubts every read
// of the blob in that time fetched it again (the whole blob, for a small
// one), failed it, and reported it again. That costs time, never
// correctness. doubtFor is ten minutes, as long as the metadata server
// checks a copy it found intact lately with a HEAD only: within it, a
// copy that rotted since is kept on record until its data server's scrub
// reports it. A copy doubted wrongly (the reader's network mangled the
// bytes) costs nothing but its turn.
type doubts struct {
	now func() time.Time

	mu  sync.Mutex
	set *recent.Set[doubt] // at most maxDoubts, each for doubtFor
}

// doubt is a copy: a blob at a data server's address.
type doubt struct {
	hash blob.Hash
	addr string
}

// doubtFor is how long a copy found bad is tried last; maxDoubts bounds
// the copies remembered, the oldest forgotten first.
const (
	doubtFor  = 10 * time.Minute
	maxDoubts = 1024
)

func newDoubts(now func() time.Time) *doubts {
	return &doubts{now: now, set: recent.New[doubt](doubtFor, maxDoubts)}
}

// add doubts h's copy at addr from now on.
func (d *doubts) add(h blob.Hash, addr string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.set.Add(doubt{h, addr}, d.now())
}

// last returns addrs, h's copies, with the doubted ones moved to the
// end, each part in its order; addrs itself if none is doubted.
func (d *doubts) last(h blob.Hash, addrs []string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	doubted := func(addr string) bool { return d.set.Has(doubt{h, addr}, now) }
	if !slices.ContainsFunc(addrs, doubted) {
		return addrs
	}
	out := make([]string, 0, len(addrs))
	for _, addr := range addrs {
		if !doubted(addr) {
			out = append(out, addr)
		}
	}
	for _, addr := range addrs {
		if doubted(addr) {
			out = append(out, addr)
		}
	}
	return out
}
