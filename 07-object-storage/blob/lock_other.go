//go:build !unix

package blob

import "os"

// lockDir only creates dir/lock where flock(2) does not exist: two
// stores opened on one directory there are not kept apart.
func lockDir(dir string) (*os.File, error) {
	return os.OpenFile(lockPath(dir), os.O_RDWR|os.O_CREATE, 0o600)
}
