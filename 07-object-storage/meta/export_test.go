package meta

// SetGCHook makes GC call f just before it takes its lock, and returns a
// function that removes it.
func SetGCHook(f func()) (restore func()) {
	gcHook = f
	return func() { gcHook = func() {} }
}
