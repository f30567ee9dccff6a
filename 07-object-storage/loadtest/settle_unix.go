//go:build unix

package main

import "syscall"

// settle writes every dirty page of every file system to disk and waits
// for it (sync(2)), so that a workload does not pay for the writes, and
// the freed blocks (a disk mounted with discard trims them), of the one
// before it.
func settle() { syscall.Sync() }
