package main

import (
	"crypto/rand"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// writeFile writes everything r yields to the file name, all or
// nothing: it writes a temporary file beside name, syncs it, and renames
// it into place only once r has ended without an error. r is an Object,
// which fails rather than hand out a byte that does not match its hash,
// so name is replaced only by a whole, verified copy; a failure leaves
// it as it was (or absent), and removes the temporary file. An existing
// name keeps its permission bits; a new one gets 0666 less the umask,
// as a file created by the shell does.
func writeFile(name string, r io.Reader) (err error) {
	perm, exists := fs.FileMode(0o666), false
	if fi, err := os.Stat(name); err == nil {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s: not a regular file", name)
		}
		perm, exists = fi.Mode().Perm(), true
	}
	// Beside name, so that the rename stays within one file system and is
	// atomic; O_EXCL, so that it never opens someone else's file.
	tmp := filepath.Join(filepath.Dir(name), "."+filepath.Base(name)+"."+rand.Text()[:8]+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if exists { // OpenFile applied the umask; an existing file's bits stay as they were
		if err := f.Chmod(perm); err != nil {
			return err
		}
	}
	if _, err := io.Copy(f, r); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}
