//go:build unix && !aix && (!solaris || illumos)

package blob

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// locksDir: two stores on one directory are kept apart here.
const locksDir = true

// lockDir takes dir/lock for this process, or fails with ErrInUse if
// another open store has it. The lock is flock(2)'s: the kernel drops it
// when the file is closed, also when the process dies, so a crash never
// leaves a store locked. It is advisory: it keeps out other Disks, not
// other programs.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(lockPath(dir), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", dir, ErrInUse)
		}
		return nil, fmt.Errorf("locking %s: %w", lockPath(dir), err)
	}
	return f, nil
}
