package meta

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// GCReport says what one garbage collection did.
type GCReport struct {
	Pruned  int `json:"pruned"`  // version records removed by the keep policy
	Garbage int `json:"garbage"` // unreferenced blobs seen, deleted or still in their grace period
	Deleted int `json:"deleted"` // blobs forgotten and deleted
	Copies  int `json:"copies"`  // copies deleted from data servers
}

// GC collects garbage in three steps:
//
//  1. Prune applies the version policy (Options.KeepVersions).
//  2. Every blob that no version refers to, recorded here or found in a
//     live data server's inventory (an upload whose client never
//     committed), is marked with the time it was first seen so.
//  3. A blob unreferenced for Options.GCGrace, and not placed for a
//     write within that time, is forgotten and deleted from every live
//     data server that holds it.
//
// The grace period is what protects uploads in flight: between a
// client's PUT to the data servers and its commit, the blob is
// unreferenced. Step 3 also holds the lock that placements and commits
// take for reading (and looks at recent placements only under it), and
// ForgetBlobs checks references again in the same transaction that
// forgets, so a commit of a blob cannot be confirmed while it is being
// deleted. The price: writes wait while deletions run, so GC takes the
// lock for gcBatch blobs at a time, and each DELETE has a short deadline
// (quickTimeout). A data server may still carry out a DELETE after GC
// gave up on it and let writes through: the DELETE names the stamp the
// inventory listed, and the data server refuses it if the copy has been
// counted since (see deleteBlobs).
//
// A data server that is down keeps its garbage until a round after its
// return finds it again, and waits out the grace period once more; so
// does one that failed a DELETE, which GC then asks nothing more in that
// call, and a GC whose ctx is done stops between batches.
func (s *Server) GC(ctx context.Context) (GCReport, error) {
	var rep GCReport
	pruned, err := s.ns.Prune(s.opt.KeepVersions)
	if err != nil {
		return rep, err
	}
	rep.Pruned = pruned
	refs, err := s.ns.Referenced()
	if err != nil {
		return rep, err
	}
	records, err := s.ns.Blobs()
	if err != nil {
		return rep, err
	}
	live := s.registry.Live()
	inv, cannotList := s.inventories(ctx, live)
	garbage := map[blob.Hash]bool{}
	for h := range records {
		if _, ok := refs[h]; !ok {
			garbage[h] = true
		}
	}
	for _, has := range inv {
		for h := range has {
			if _, ok := refs[h]; !ok {
				garbage[h] = true
			}
		}
	}
	rep.Garbage = len(garbage)
	now := s.opt.Now()
	since, err := s.ns.MarkGarbage(slices.Sorted(maps.Keys(garbage)), now)
	if err != nil {
		return rep, err
	}

	var candidates []blob.Hash // unreferenced for the grace period
	for h, t := range since {
		if now.Sub(t) >= s.opt.GCGrace {
			candidates = append(candidates, h)
		}
	}
	slices.Sort(candidates)
	s.mu.Lock()
	s.pending.expire(now, s.opt.GCGrace)
	s.mu.Unlock()
	// Writes wait while GC holds its lock: hold it for one batch at a time.
	// A data server that failed a DELETE is skipped for the rest of the
	// call (its copies wait for the next one), so that one server that
	// hangs costs one deadline, not one per copy it holds.
	failed := map[string]bool{}
	for len(candidates) > 0 && err == nil && ctx.Err() == nil {
		batch := candidates[:min(s.hooks.batch(), len(candidates))]
		candidates = candidates[len(batch):]
		// Take the lock before looking at recent placements: a placement
		// made after the look but before the lock would be answered with
		// copies that are about to be deleted.
		s.hooks.beforeGCLock()
		s.gc.Lock()
		var condemned []blob.Hash
		s.mu.Lock()
		for _, h := range batch {
			if !s.pending.recent(h, now, s.opt.GCGrace) {
				condemned = append(condemned, h)
			}
		}
		s.mu.Unlock()
		s.hooks.gcLooks()
		var blobs, copies int
		blobs, copies, err = s.deleteBlobs(ctx, condemned, live, inv, cannotList, failed)
		s.gc.Unlock()
		rep.Deleted += blobs
		rep.Copies += copies
	}
	s.mu.Lock()
	s.stats.collected(rep)
	s.mu.Unlock()
	return rep, err
}

// holdOffGC takes GC's lock for reading, and returns the function that
// lets it go. Placements, commits and replica records hold it while they
// confirm copies and record them, so that none of them can count a copy
// GC is deleting. A store without stamps (not a blob.Stamper) has nothing
// else to fence GC's DELETE off: a commit that confirmed copies between GC's
// ForgetBlobs and its DELETEs would record a version whose every copy is
// then deleted.
func (s *Server) holdOffGC() (unlock func()) {
	if !s.gc.TryRLock() {
		s.hooks.gcWaits()
		s.gc.RLock()
	}
	return s.gc.RUnlock
}

// gcBatch is the most blobs GC deletes in one hold of its lock.
const gcBatch = 64

// deleteBlobs forgets the blobs that are still unreferenced and deletes
// their copies from the live servers whose inventory listed them, but
// those in failed, to which it adds a server whose DELETE fails. Call
// with s.gc locked.
//
// Each DELETE names the stamp the inventory listed, and the data server
// refuses it if the copy was used since (errKept): a DELETE that outlives
// its deadline cannot remove a copy counted after GC gave up. A copy the
// inventory did not list (its server did not answer, or the copy came
// after the listing) has no stamp to name, so it is not deleted now: it
// is garbage the next collection finds, with its stamp. A server whose
// store cannot list its blobs (in cannotList) is sent a DELETE without
// a stamp for each copy recorded there, as before stamps: on it, a late
// DELETE can still remove a copy counted since.
func (s *Server) deleteBlobs(ctx context.Context, hashes []blob.Hash, live []Heartbeat, inv map[string]map[blob.Hash]Stored, cannotList, failed map[string]bool) (blobs, copies int, err error) {
	forgotten, err := s.ns.ForgetBlobs(hashes)
	if err != nil {
		return 0, 0, err
	}
	for _, h := range slices.Sorted(maps.Keys(forgotten)) {
		blobs++
		for _, hb := range live {
			st, listed := inv[hb.ID][h]
			recorded := cannotList[hb.ID] && slices.Contains(forgotten[h], hb.ID)
			if !listed && !recorded || failed[hb.ID] {
				continue
			}
			switch err := s.deleteCopy(ctx, hb.ID, hb.Addr, h, st.Stamp); {
			case errors.Is(err, errKept):
				s.opt.Log.Info("gc: a copy was used again since the inventory; kept", "blob", h.Short(), "server", hb.ID)
			case errors.Is(err, errGone):
				// Deleted by a DELETE of an earlier GC carried out late, or
				// set aside as damaged since the inventory: not a copy
				// this GC deleted, and no failure of the server.
			case err != nil:
				s.opt.Log.Warn("gc: could not delete a copy; skipping the server until the next collection", "blob", h.Short(), "server", hb.ID, "err", err)
				failed[hb.ID] = true
			default:
				copies++
			}
		}
	}
	return blobs, copies, nil
}
