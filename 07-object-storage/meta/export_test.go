package meta

import (
	"maps"
	"slices"
	"time"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// SetGCHook makes s's GC call f just before it takes its lock.
func SetGCHook(s *Server, f func()) { s.hooks.gc = f }

// TransferTimeout is transferTimeout, for tests.
var TransferTimeout = transferTimeout

// SetJobWaitHook makes s's oneJob call f when a data server is busy with
// another pull or verify.
func SetJobWaitHook(s *Server, f func(addr string)) { s.hooks.jobWait = f }

// GCHeld reports whether s's GC holds the lock that keeps writes out.
func GCHeld(s *Server) bool {
	if s.gc.TryRLock() {
		s.gc.RUnlock()
		return false
	}
	return true
}

// SetGCBatch sets how many blobs s's GC deletes in one hold of its lock.
func SetGCBatch(s *Server, n int) { s.hooks.gcBatch = n }

// SetRepairFullHook makes s's RepairRound call f when it waits for one of
// its RepairConcurrency blobs to finish.
func SetRepairFullHook(s *Server, f func()) { s.hooks.repairFull = f }

// SetListScanLimit sets how many keys one page of n's List looks at.
func SetListScanLimit(n *Namespace, keys int) { n.scanLimit = keys }

// SetLockWait sets how long OpenNamespace waits for the database's lock,
// until the test ends.
func SetLockWait(t interface{ Cleanup(func()) }, d time.Duration) {
	old := lockWait
	lockWait = d
	t.Cleanup(func() { lockWait = old })
}

// LockWait is how long OpenNamespace waits for the database's lock.
func LockWait() time.Duration { return lockWait }

// SetSyncDir makes OpenNamespace sync directories with f, until the test
// ends.
func SetSyncDir(t interface{ Cleanup(func()) }, f func(dir string) error) {
	old := syncDir
	syncDir = f
	t.Cleanup(func() { syncDir = old })
}

// Placed lists the blobs s remembers as placed for writing, in order.
func Placed(s *Server) []blob.Hash {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.pending.at))
}

// SetMaxReports sets how many bad-copy reports s lets wait for their check.
func SetMaxReports(s *Server, n int) { s.hooks.maxReports = n }

// SetForgetHook makes s's checks of bad-copy reports call f before they
// forget a copy found bad.
func SetForgetHook(s *Server, f func()) { s.hooks.forget = f }

// ReportQuiet is how long a copy found intact is not re-hashed again.
const ReportQuiet = reportQuiet

// SetGCWaitHook makes s's placements, commits and replica records call f
// when they find GC's lock taken and wait for it.
func SetGCWaitHook(s *Server, f func()) { s.hooks.gcWait = f }

// SetGCLookedHook makes s's GC call f under its lock, once it has looked
// at recent placements and before it forgets and deletes.
func SetGCLookedHook(s *Server, f func()) { s.hooks.gcLooked = f }
