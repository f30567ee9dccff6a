package meta

// SetGCHook makes GC call f just before it takes its lock, and returns a
// function that removes it.
func SetGCHook(f func()) (restore func()) {
	gcHook = f
	return func() { gcHook = func() {} }
}

// TransferTimeout is transferTimeout, for tests.
var TransferTimeout = transferTimeout

// SetJobWaitHook makes oneJob call f when a data server is busy with
// another pull or verify, and returns a function that removes it.
func SetJobWaitHook(f func(addr string)) (restore func()) {
	jobWaitHook = f
	return func() { jobWaitHook = func(string) {} }
}

// GCHeld reports whether s's GC holds the lock that keeps writes out.
func GCHeld(s *Server) bool {
	if s.gc.TryRLock() {
		s.gc.RUnlock()
		return false
	}
	return true
}

// SetGCBatch sets how many blobs GC deletes in one hold of its lock, and
// returns a function that restores it.
func SetGCBatch(n int) (restore func()) {
	old := gcBatch
	gcBatch = n
	return func() { gcBatch = old }
}

// SetRepairFullHook makes RepairRound call f when it waits for one of its
// RepairConcurrency blobs to finish, and returns a function that removes it.
func SetRepairFullHook(f func()) (restore func()) {
	repairFullHook = f
	return func() { repairFullHook = func() {} }
}
