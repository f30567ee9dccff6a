package blob

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Walker is a Store that can list what it holds. Scrubbing, garbage
// collection and reconciliation need the list; a plain Store does not.
type Walker interface {
	// Walk calls fn for every stored blob, in no particular order, and
	// stops at fn's first error.
	Walk(fn func(h Hash, size int64) error) error
}

// Quarantiner is a Store that can set a damaged blob aside: it is no
// longer served or counted, but its bytes are kept for a person to look
// at instead of being destroyed by the program that found them bad.
type Quarantiner interface {
	// Quarantine takes blob h out of the store, as Remove does for Open,
	// Stat, Usage and Walk, and keeps its bytes elsewhere; a reader that
	// opened it before reads on to its end. A later Put of h stores a
	// fresh copy. Quarantining a missing blob returns ErrNotFound.
	Quarantine(h Hash) error
}

// Walk calls fn for every blob on disk.
func (d *Disk) Walk(fn func(h Hash, size int64) error) error {
	return filepath.WalkDir(d.blobs, func(path string, e fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // the directory went away (a wiped disk): nothing there to walk
		}
		if err != nil || e.IsDir() {
			return err
		}
		h, ok := d.blobAt(path)
		if !ok {
			return nil // not ours
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed while we walked
		}
		if err != nil {
			return err
		}
		return fn(h, info.Size())
	})
}

// maxQuarantined is how many set-aside copies of one blob Quarantine
// keeps; past it, a damaged copy is an error and stays where it is.
const maxQuarantined = 1000

// freeQuarantineName returns the first quarantine/<h>.<n> not in use. Any
// error but "does not exist" (a quarantine that is not a directory, a
// failing disk) is returned, not retried: the caller holds d.mu.
func (d *Disk) freeQuarantineName(h Hash) (string, error) {
	for n := 1; n <= maxQuarantined; n++ {
		to := filepath.Join(d.quarantine, fmt.Sprintf("%s.%d", h, n))
		_, err := os.Lstat(to)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return to, nil
		case err != nil:
			return "", fmt.Errorf("blob: quarantine: %w", err)
		}
	}
	return "", fmt.Errorf("blob: quarantine: %d copies of %s already set aside", maxQuarantined, h.Short())
}

// Quarantine moves blob h to dir/quarantine/<h>.<n>, so that Open no
// longer finds it. n is the first number not in use: a blob damaged
// again, after a fresh copy replaced it, never overwrites the evidence of
// the first damage. A later Put of the same hash stores a fresh copy.
func (d *Disk) Quarantine(h Hash) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	size, err := d.Stat(h)
	if err != nil {
		return err
	}
	to, err := d.freeQuarantineName(h)
	if err != nil {
		return err
	}
	if err := os.Rename(d.path(h), to); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	d.usage.Blobs--
	d.usage.Bytes -= size
	if err := syncDir(d.quarantine); err != nil {
		return err
	}
	return syncDir(filepath.Dir(d.path(h)))
}

// Quarantined lists the copies in quarantine, by hash: a blob set aside
// twice is listed twice.
func (d *Disk) Quarantined() ([]Hash, error) {
	entries, err := os.ReadDir(d.quarantine)
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	var hs []Hash
	for _, e := range entries {
		name, _, _ := strings.Cut(e.Name(), ".")
		if h, err := ParseHash(name); err == nil {
			hs = append(hs, h)
		}
	}
	return hs, nil
}

// SweepTemp removes temporary files that no running Put is writing and
// that were last modified before cutoff: what an upload abandoned in a
// way that skipped its own clean-up (a process killed mid-write whose
// directory was not reopened, a failed remove). The two tests together
// mean an upload in flight is never touched, however slow it is.
func (d *Disk) SweepTemp(cutoff time.Time) (removed int, err error) {
	entries, err := os.ReadDir(d.tmp)
	if err != nil {
		return 0, fmt.Errorf("blob: %w", err)
	}
	for _, e := range entries {
		path := filepath.Join(d.tmp, e.Name())
		info, err := e.Info()
		if err != nil || d.isActive(path) || !info.ModTime().Before(cutoff) {
			continue
		}
		if err := os.Remove(path); err == nil {
			removed++
		}
	}
	return removed, nil
}

func (d *Disk) setActive(path string, on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if on {
		d.active[path] = true
	} else {
		delete(d.active, path)
	}
}

func (d *Disk) isActive(path string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.active[path]
}
