package blob

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// Disk stores each blob as one file, dir/blobs/ab/abcd..., named by its
// hash only: no byte of a client's input ever reaches a path. A write goes
// to dir/tmp first and is renamed into place once it is complete, checked
// and on disk, so Open sees a whole blob or none.
//
//	dir/
//	  lock          held by the one Disk open on dir (see OpenDisk)
//	  id            the store's ID (see ID)
//	  tmp/          writes in progress (emptied by OpenDisk)
//	  blobs/ab/     blobs whose hash starts with "ab"
//	  quarantine/   damaged copies set aside, as <hash>.<n> (see Quarantine)
type Disk struct {
	blobs, tmp, quarantine string
	id                     string
	lock                   *os.File // held open: closing it releases dir

	mu     sync.Mutex // serialises publishing, so Usage counts each blob once
	usage  Usage
	active map[string]bool // temporary files of Puts still running
	synced map[string]bool // fan-out directories whose entries this process has synced

	// Which renames into a fan-out directory are known durable, so that
	// SyncBlob syncs only when one may not be: renames counts the renames
	// into each directory, and durableUpTo the count a sync of it has
	// covered (taken before the sync began). A directory absent from
	// durableUpTo has not been synced by this process, and may hold a
	// rename a crashed one never synced.
	renames, durableUpTo map[string]uint64
}

// OpenDisk opens (creating it if need be) a store in dir. Temporary files
// left by a crash are removed: they were never part of the store.
//
// One Disk at a time may have dir, until its Close: another OpenDisk on
// it fails with ErrInUse (where Go has flock(2): not on Windows, Plan 9,
// Solaris or AIX, where nothing keeps them apart).
// Two data servers on one directory would report the same ID from two
// addresses, and the second, clearing tmp/, would delete the first one's
// writes in progress.
func OpenDisk(dir string) (d *Disk, err error) {
	if err := mkdirDurable(dir); err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	defer func() {
		if err != nil {
			lock.Close()
		}
	}()
	d = &Disk{
		blobs: filepath.Join(dir, "blobs"), tmp: filepath.Join(dir, "tmp"), quarantine: filepath.Join(dir, "quarantine"),
		lock: lock, active: map[string]bool{}, synced: map[string]bool{},
		renames: map[string]uint64{}, durableUpTo: map[string]uint64{},
	}
	if err := os.RemoveAll(d.tmp); err != nil {
		return nil, fmt.Errorf("blob: clearing %s: %w", d.tmp, err)
	}
	for _, p := range []string{d.blobs, d.tmp, d.quarantine} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return nil, fmt.Errorf("blob: %w", err)
		}
	}
	// Their entries must be durable before a blob is moved into one: a
	// copy set aside into a quarantine/ a crash forgets is lost.
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	id, err := loadID(filepath.Join(dir, "id"))
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	d.id = id
	err = filepath.WalkDir(d.blobs, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		if _, ok := d.blobAt(path); !ok {
			return nil // not ours
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		d.usage.Blobs++
		d.usage.Bytes += info.Size()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("blob: counting blobs in %s: %w", d.blobs, err)
	}
	return d, nil
}

// mkdirDurable creates dir and any parents it lacks, and syncs the
// directory holding each: the store's own entry is as much a part of
// every blob's path as a fan-out directory's (see mkdir). The parent of
// a dir that exists is synced too, once per open: it may be the one an
// earlier run made and died before syncing.
func mkdirDurable(dir string) error {
	dir = filepath.Clean(dir)
	parents := []string{filepath.Dir(dir)}
	for p := dir; ; {
		if _, err := os.Stat(p); err == nil || filepath.Dir(p) == p {
			break
		}
		p = filepath.Dir(p)
		if p != parents[len(parents)-1] {
			parents = append(parents, p)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, p := range parents {
		if err := syncDir(p); err != nil {
			return err
		}
	}
	return nil
}

func (d *Disk) path(h Hash) string {
	return filepath.Join(d.blobs, string(h[:2]), string(h))
}

// blobAt reports which blob the file at path (found under blobs/) is: a
// file is one only if its name is a hash and it is where that hash's
// blob goes. Open, Stat and Remove look nowhere else, so a copy named by
// a hash in another fan-out directory (an operator's copy, a restore
// that flattened the tree) would be counted and listed, and then never
// served, scrubbed or removed.
func (d *Disk) blobAt(path string) (Hash, bool) {
	h, err := ParseHash(filepath.Base(path))
	if err != nil || path != d.path(h) {
		return "", false
	}
	return h, true
}

// Put streams r into a temporary file while hashing it, then makes it
// durable: fsync the file, rename it into place, fsync the directory.
// Without the first fsync a crash after the rename can leave a named but
// empty or torn file; without the last the rename itself can be lost.
func (d *Disk) Put(h Hash, r io.Reader) (n int64, err error) {
	if _, err := ParseHash(string(h)); err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(d.tmp, "put-*")
	if err != nil {
		return 0, fmt.Errorf("blob: %w", err)
	}
	d.setActive(f.Name(), true)
	published := false
	defer func() {
		if !published {
			f.Close()
			os.Remove(f.Name())
		}
		d.setActive(f.Name(), false)
	}()

	sum := sha256.New()
	n, err = Copy(io.MultiWriter(f, sum), r)
	if err != nil {
		return n, err // the reader failed: a client went away, or sent too much
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != string(h) {
		return n, fmt.Errorf("blob %s: got content hashing to %s: %w", h.Short(), got[:12], ErrDigestMismatch)
	}
	if err := syncFile(f); err != nil {
		return n, fmt.Errorf("blob: %w", err)
	}
	if err := f.Close(); err != nil {
		return n, fmt.Errorf("blob: %w", err)
	}

	final := d.path(h)
	if published, err = d.publish(f.Name(), final, n); err != nil {
		return n, err
	}
	// The rename is made durable outside the lock, so that Puts of
	// different blobs wait for the disk together rather than one after
	// another. A Put that found the blob already stored syncs too: the
	// rename it found may be another Put's, not yet synced, and it must
	// not report success for a blob a crash could still lose.
	if err := d.syncRenames(filepath.Dir(final)); err != nil {
		return n, fmt.Errorf("blob: %w", err)
	}
	return n, nil
}

// syncRenames syncs fan-out directory dir, and notes that every rename
// into it counted before the sync began is durable.
func (d *Disk) syncRenames(dir string) error {
	d.mu.Lock()
	upTo := d.renames[dir]
	d.mu.Unlock()
	if err := syncDir(dir); err != nil {
		return err
	}
	d.mu.Lock()
	if done, ok := d.durableUpTo[dir]; !ok || upTo > done {
		d.durableUpTo[dir] = upTo
	}
	d.mu.Unlock()
	return nil
}

// publish renames the complete temporary file tmp to final and counts
// the blob, unless final exists (identical bytes: renamed is false, and
// Put removes tmp). The lock makes "exists?" and the rename one step, so
// that Usage counts each blob once.
func (d *Disk) publish(tmp, final string, n int64) (renamed bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := os.Stat(final); err == nil {
		return false, nil
	}
	if err := d.mkdir(filepath.Dir(final)); err != nil {
		return false, err
	}
	if err := os.Rename(tmp, final); err != nil {
		return false, fmt.Errorf("blob: %w", err)
	}
	d.renames[filepath.Dir(final)]++
	d.usage.Blobs++
	d.usage.Bytes += n
	return true, nil
}

// mkdir creates a fan-out directory and makes its entry durable. It
// recreates blobs/ too if it has gone (a wiped disk, an operator's rm): a
// server whose directory vanished keeps taking writes instead of failing
// every one until it is restarted, and counts nothing of what it held.
//
// A directory that exists is not enough: its entry may never have reached
// the disk (the process died between a mkdir and its sync, or the sync
// failed), and a blob renamed into it would go with it in a crash. So
// each fan-out directory is synced into blobs/ once per process, on its
// first use, whoever made it. mu must be held.
func (d *Disk) mkdir(dir string) error {
	if _, err := os.Stat(dir); err == nil && d.synced[dir] {
		return nil
	}
	// Gone (blobs/ wiped) or never synced: not durable until the syncs
	// below succeed, whatever an earlier sync covered.
	delete(d.synced, dir)
	if _, err := os.Stat(d.blobs); errors.Is(err, fs.ErrNotExist) {
		d.usage = Usage{}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	if err := syncDir(filepath.Dir(d.blobs)); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	if err := syncDir(d.blobs); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	d.synced[dir] = true
	return nil
}

// syncFile flushes an open file's bytes, or a directory's entries, to
// disk. It is a variable, as syncDir is, so that a test can see what is
// synced and when, and make a sync fail.
var syncFile = (*os.File).Sync

// syncDir flushes a directory's entries (a new or renamed file) to disk.
// Windows cannot open a directory for syncing, and NTFS journals
// renames, so there it does nothing. It is a variable so that a test can
// hold a Put inside it.
var syncDir = func(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return syncFile(f)
}

// SyncDir flushes a directory's entries (a new or renamed file) to disk,
// as the store does after a rename. For other packages that create files
// they must not lose in a crash: bbolt syncs its database file but never
// the directory that names it.
func SyncDir(dir string) error { return syncDir(dir) }

// Open opens a stored blob.
func (d *Disk) Open(h Hash) (Reader, error) {
	if _, err := ParseHash(string(h)); err != nil {
		return nil, err
	}
	f, err := os.Open(d.path(h))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", h.Short(), ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blob: %w", err)
	}
	return &file{File: f, size: info.Size()}, nil
}

type file struct {
	*os.File
	size int64
}

func (f *file) Size() int64 { return f.size }

// Stat returns a stored blob's size.
func (d *Disk) Stat(h Hash) (int64, error) {
	if _, err := ParseHash(string(h)); err != nil {
		return 0, err
	}
	info, err := os.Stat(d.path(h))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("blob %s: %w", h.Short(), ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("blob: %w", err)
	}
	return info.Size(), nil
}

// Remove deletes a stored blob, and syncs its directory before it
// returns: a copy reported gone stays gone in a crash, instead of coming
// back as bytes the store counts and nobody records.
func (d *Disk) Remove(h Hash) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.remove(h)
}

// remove deletes a stored blob; d.mu must be held.
func (d *Disk) remove(h Hash) error {
	size, err := d.Stat(h)
	if err != nil {
		return err
	}
	if err := os.Remove(d.path(h)); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob %s: %w", h.Short(), ErrNotFound)
	} else if err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	d.usage.Blobs--
	d.usage.Bytes -= size
	return syncDir(filepath.Dir(d.path(h)))
}

// SyncBlob makes stored blob h's name durable (see Syncer): it syncs the
// blob's directory, unless every rename into it is known durable (a sync
// by this process began after the last one). The blob's bytes were synced
// before its rename, so once the rename is durable, all of it is. The
// metadata server's confirming HEAD calls it once per copy of every
// commit, just after the Put's own sync as a rule: a sync each time, with
// other Puts' renames waiting in the journal, cost small PUTs a fifth of
// their rate (see the chapter).
func (d *Disk) SyncBlob(h Hash) error {
	if _, err := d.Stat(h); err != nil {
		return err
	}
	dir := filepath.Dir(d.path(h))
	d.mu.Lock()
	done, ok := d.durableUpTo[dir]
	clean := ok && done == d.renames[dir]
	d.mu.Unlock()
	if clean {
		return nil
	}
	if err := d.syncRenames(dir); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	return nil
}

// Usage counts the stored blobs and their bytes.
func (d *Disk) Usage() (Usage, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.usage, nil
}

// ID names this store for good: it is made at random when the store is
// created and kept in dir/id. A data server reports it in heartbeats, so
// the metadata server knows the blobs are the same whatever address the
// server listens on next time.
func (d *Disk) ID() string { return d.id }

// Close releases the store's directory for another OpenDisk. The Disk
// must not be used after it.
func (d *Disk) Close() error { return d.lock.Close() }

func lockPath(dir string) string { return filepath.Join(dir, "lock") }

func loadID(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	id := "ds-" + rand.Text()[:16]
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return "", err
	}
	_, err = f.WriteString(id + "\n")
	if err == nil {
		err = syncFile(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	return id, syncDir(filepath.Dir(path))
}

// TempFiles counts writes in progress (or abandoned and not yet cleaned
// up): tests use it to check that a failed write left nothing behind.
func (d *Disk) TempFiles() (int, error) {
	entries, err := os.ReadDir(d.tmp)
	return len(entries), err
}
