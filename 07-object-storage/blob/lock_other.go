//go:build !unix || aix || (solaris && !illumos)

package blob

import "os"

// locksDir: nothing keeps two stores on one directory apart here.
const locksDir = false

// lockDir only creates dir/lock where Go's syscall package has no
// flock(2) (Windows, Plan 9, Solaris, AIX): two stores opened on one
// directory there are not kept apart.
func lockDir(dir string) (*os.File, error) {
	return os.OpenFile(lockPath(dir), os.O_RDWR|os.O_CREATE, 0o600)
}
