package blob

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// holdSync makes syncDir wait on release for dir, the first time it is
// asked for it, and reports on calls every sync of a blob's directory
// (not those of the directories made on the way).
func holdSync(t *testing.T, dir string) (held <-chan struct{}, release func(), calls <-chan string) {
	in, gate, all := make(chan struct{}), make(chan struct{}), make(chan string, 16)
	var once sync.Once
	real := syncDir
	syncDir = func(d string) error {
		if filepath.Base(filepath.Dir(d)) == "blobs" {
			all <- d
		}
		if d == dir {
			first := false
			once.Do(func() { first = true })
			if first {
				close(in)
				<-gate
			}
		}
		return real(d)
	}
	t.Cleanup(func() { syncDir = real })
	return in, func() { close(gate) }, all
}

// A Put that finds its blob already stored syncs the directory itself
// before it reports success: the rename it found may be another Put's,
// whose sync has not happened yet.
func TestAPutOfAStoredBlobSyncsBeforeItReturns(t *testing.T) {
	d, err := OpenDisk(t.TempDir())
	require.NoError(t, err)
	content := "durable"
	h := Sum([]byte(content))
	dir := filepath.Dir(d.path(h))
	held, release, calls := holdSync(t, dir)

	first := make(chan error, 1)
	go func() {
		_, err := d.Put(h, strings.NewReader(content))
		first <- err
	}()
	select {
	case <-held: // renamed, not yet synced
	case err := <-first:
		t.Fatalf("the Put returned (%v) without syncing its blob's directory", err)
	}
	second := make(chan error, 1)
	go func() {
		_, err := d.Put(h, strings.NewReader(content))
		second <- err
	}()
	select {
	case err := <-second:
		require.NoError(t, err)
	case <-time.After(10 * time.Second): // a bound on a hang, not a wait
		t.Fatal("the second Put waited for the first one's sync")
	}
	assert.Equal(t, dir, <-calls, "the first Put's sync")
	select {
	case got := <-calls:
		assert.Equal(t, dir, got, "the second Put's own sync")
	default:
		t.Fatal("the second Put reported success without a sync")
	}
	release()
	require.NoError(t, <-first)
	n, err := d.TempFiles()
	require.NoError(t, err)
	assert.Zero(t, n, "the second Put's temporary file was left behind")
	u, _ := d.Usage()
	assert.Equal(t, 1, int(u.Blobs), "counted once")
}

// Puts of different blobs wait for the disk together: one Put's
// directory sync does not hold the others back.
func TestPutsSyncTogether(t *testing.T) {
	d, err := OpenDisk(t.TempDir())
	require.NoError(t, err)
	a, b := Sum([]byte("a")), Sum([]byte("b"))
	held, release, calls := holdSync(t, filepath.Dir(d.path(a)))

	first := make(chan error, 1)
	go func() {
		_, err := d.Put(a, strings.NewReader("a"))
		first <- err
	}()
	// The held Put ends before the test does, and before holdSync puts
	// syncDir back, which it reads.
	t.Cleanup(func() { release(); <-first })
	select {
	case <-held:
	case err := <-first:
		first <- err // for the clean-up
		t.Fatalf("the Put returned (%v) without syncing its blob's directory", err)
	}
	assert.Equal(t, filepath.Dir(d.path(a)), <-calls)
	done := make(chan error, 1)
	go func() {
		_, err := d.Put(b, strings.NewReader("b"))
		done <- err
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second): // a bound on a hang, not a wait
		t.Fatal("a Put of another blob waited for the first one's sync")
	}
	assert.Equal(t, filepath.Dir(d.path(b)), <-calls)
}

// inDir returns content, other than not, whose blob d stores in the same
// fan-out directory as blob h.
func inDir(d *Disk, h Hash, not string) string {
	for i := 0; ; i++ {
		c := fmt.Sprint("blob ", i)
		if c != not && filepath.Dir(d.path(Sum([]byte(c)))) == filepath.Dir(d.path(h)) {
			return c
		}
	}
}

// SyncBlob syncs the directory of a stored blob unless every rename into
// it is known durable: after a Put's own sync it syncs nothing, but it
// does sync a blob found by a new Disk (a crashed process may never have
// synced it) and one whose Put's sync failed; and nothing for a blob it
// does not have.
func TestSyncBlobSyncsWhatMayNotBeDurable(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDisk(dir)
	require.NoError(t, err)
	h := Sum([]byte("durable"))
	_, err = d.Put(h, strings.NewReader("durable"))
	require.NoError(t, err)
	hdir := filepath.Dir(d.path(h))

	var synced []string
	fail := ""
	real := syncDir
	syncDir = func(dir string) error {
		synced = append(synced, dir)
		if dir == fail {
			return errors.New("disk on fire")
		}
		return real(dir)
	}
	defer func() { syncDir = real }()

	require.NoError(t, d.SyncBlob(h))
	assert.Empty(t, synced, "synced after the Put's own sync")
	assert.ErrorIs(t, d.SyncBlob(Sum([]byte("absent"))), ErrNotFound)
	assert.Empty(t, synced)

	require.NoError(t, d.Close())
	d, err = OpenDisk(dir) // as a new process would
	require.NoError(t, err)
	defer d.Close()
	synced = nil
	require.NoError(t, d.SyncBlob(h))
	assert.Equal(t, []string{hdir}, synced, "a blob a new Disk found was not synced")
	require.NoError(t, d.SyncBlob(h))
	assert.Len(t, synced, 1, "synced again")

	// A Put whose sync fails leaves its blob in place, maybe not durable,
	// and h's directory with it.
	other := inDir(d, h, "durable")
	fail = hdir
	_, err = d.Put(Sum([]byte(other)), strings.NewReader(other))
	require.Error(t, err)
	fail, synced = "", nil
	require.NoError(t, d.SyncBlob(h))
	assert.Equal(t, []string{hdir}, synced, "a directory with a rename whose sync failed was not synced")
	require.NoError(t, d.SyncBlob(Sum([]byte(other))))
	assert.Len(t, synced, 1, "synced again")
}

// A blob whose Put is between its rename and its sync is synced by
// SyncBlob, which a confirming HEAD calls: the copy it finds may be that
// one. So is a blob stored earlier in the same directory, since the
// directory's sync is what makes either rename durable.
func TestSyncBlobSyncsARenameNotYetSynced(t *testing.T) {
	d, err := OpenDisk(t.TempDir())
	require.NoError(t, err)
	defer d.Close()
	h := Sum([]byte("durable"))
	_, err = d.Put(h, strings.NewReader("durable"))
	require.NoError(t, err)
	other := inDir(d, h, "durable")
	g := Sum([]byte(other))
	dir := filepath.Dir(d.path(g))
	held, release, calls := holdSync(t, dir)

	put := make(chan error, 1)
	go func() {
		_, err := d.Put(g, strings.NewReader(other))
		put <- err
	}()
	select {
	case <-held: // renamed, not yet synced
	case err := <-put:
		t.Fatalf("the Put returned (%v) without syncing its blob's directory", err)
	}
	assert.Equal(t, dir, <-calls, "the Put's sync")
	for _, b := range []Hash{g, h} {
		require.NoError(t, d.SyncBlob(b))
		select {
		case got := <-calls:
			assert.Equal(t, dir, got)
		default:
			t.Errorf("SyncBlob(%s) synced nothing while a rename into its directory was not synced", b.Short())
		}
		// That sync began after the rename: it made the rename durable,
		// and a second SyncBlob of either blob syncs nothing.
		require.NoError(t, d.SyncBlob(h))
		require.NoError(t, d.SyncBlob(g))
		assert.Empty(t, calls, "synced again")
		d.mu.Lock()
		d.durableUpTo[dir]-- // as before that sync, for the other blob's turn
		d.mu.Unlock()
	}
	release()
	require.NoError(t, <-put)
	require.NoError(t, d.SyncBlob(g))
	assert.Empty(t, calls, "synced after the Put's own sync")
}

// A sync makes durable the renames made before it began, and maybe not
// one made while it runs: so the count of renames it covers is taken
// before it starts. Here Put b renames while Put a's sync of the same
// directory is held; once a's sync is done, with b's own sync still
// held, SyncBlob(b) (a confirming HEAD, a PUT of the stored blob) must
// sync again rather than take a's sync for b's.
func TestARenameDuringASyncIsNotTakenAsCovered(t *testing.T) {
	d, err := OpenDisk(t.TempDir())
	require.NoError(t, err)
	defer d.Close()
	first := "durable"
	_, err = d.Put(Sum([]byte(first)), strings.NewReader(first)) // the directory made and synced
	require.NoError(t, err)
	a := inDir(d, Sum([]byte(first)), first)
	b := inDir(d, Sum([]byte(a)), a)
	dir := filepath.Dir(d.path(Sum([]byte(first))))

	var (
		mu      sync.Mutex
		calls   int // syncs of dir
		entered = make(chan int, 2)
		gates   = []chan struct{}{make(chan struct{}), make(chan struct{})}
		release = []func(){sync.OnceFunc(func() { close(gates[0]) }), sync.OnceFunc(func() { close(gates[1]) })}
	)
	synced := func() int { mu.Lock(); defer mu.Unlock(); return calls }
	real := syncDir
	syncDir = func(p string) error {
		if p == dir {
			mu.Lock()
			n := calls
			calls++
			mu.Unlock()
			if n < len(gates) { // the first two: a's sync, then b's
				entered <- n
				<-gates[n]
			}
		}
		return real(p)
	}
	put := func(content string) (wait func() error) {
		done := make(chan error, 1)
		go func() {
			_, err := d.Put(Sum([]byte(content)), strings.NewReader(content))
			done <- err
		}()
		return sync.OnceValue(func() error { return <-done })
	}
	waitA := put(a)
	<-entered // a renamed, its sync held
	waitB := put(b)
	<-entered // b renamed, its sync held
	t.Cleanup(func() {
		// The Puts end before syncDir is put back, which they read.
		release[0]()
		release[1]()
		waitA()
		waitB()
		syncDir = real
	})
	release[0]()
	require.NoError(t, waitA())
	require.Equal(t, 2, synced())
	require.NoError(t, d.SyncBlob(Sum([]byte(b))))
	assert.Equal(t, 3, synced(), "SyncBlob took a sync that began before b's rename for one that covers it")
	release[1]()
	require.NoError(t, waitB())
}

// A fan-out directory that exists has not necessarily reached the disk:
// the process may have died between its mkdir and the sync of blobs/, or
// that sync may have failed. The first Put into it in this process syncs
// blobs/ (and the store's directory) before it succeeds, whoever made it;
// so does the first Put into one that has gone since (blobs/ wiped), even
// if an earlier sync covered the directory of that name.
func TestAFanOutDirectoryIsDurableBeforeItsFirstUse(t *testing.T) {
	content := "fan out"
	h := Sum([]byte(content))
	errSync := errors.New("sync failed (test)")
	// putFailingSync puts h into d with every sync of blobs/ failing.
	putFailingSync := func(t *testing.T, d *Disk) {
		real := syncDir
		syncDir = func(p string) error {
			if p == d.blobs {
				return errSync
			}
			return real(p)
		}
		defer func() { syncDir = real }()
		_, err := d.Put(h, strings.NewReader(content))
		require.ErrorIs(t, err, errSync)
	}
	for _, c := range []struct {
		name   string
		before func(t *testing.T, d *Disk) // after OpenDisk
	}{
		{"made before a crash", nil}, // see below
		{"made by a Put whose sync failed", putFailingSync},
		{"made again, after a wipe, once synced", func(t *testing.T, d *Disk) {
			_, err := d.Put(h, strings.NewReader(content)) // made and synced
			require.NoError(t, err)
			require.NoError(t, os.RemoveAll(d.blobs))
			putFailingSync(t, d)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if c.before == nil {
				require.NoError(t, os.MkdirAll(filepath.Join(dir, "blobs", string(h[:2])), 0o755))
			}
			d, err := OpenDisk(dir)
			require.NoError(t, err)
			if c.before != nil {
				c.before(t, d)
			}
			var synced []string
			real := syncDir
			syncDir = func(p string) error { synced = append(synced, p); return real(p) }
			defer func() { syncDir = real }()

			_, err = d.Put(h, strings.NewReader(content))
			require.NoError(t, err)
			assert.Equal(t, []string{dir, d.blobs, filepath.Dir(d.path(h))}, synced,
				"directories synced by the first Put into a fan-out directory")
			synced = nil
			other := "fan out again"
			for Sum([]byte(other))[:2] != h[:2] {
				other += "."
			}
			_, err = d.Put(Sum([]byte(other)), strings.NewReader(other))
			require.NoError(t, err)
			assert.Equal(t, []string{filepath.Dir(d.path(h))}, synced, "the second Put into it syncs only its own rename")
		})
	}
}

// OpenDisk makes the directories it creates durable before it returns:
// here quarantine/, gone from a store that already has its ID (an
// operator's rm), which a Quarantine would otherwise move a copy into
// without its entry ever being synced.
func TestOpenDiskSyncsTheDirectoriesItMakes(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDisk(dir)
	require.NoError(t, err)
	require.NoError(t, d.Close())
	require.NoError(t, os.Remove(filepath.Join(dir, "quarantine")))

	var synced []string
	real := syncDir
	syncDir = func(p string) error { synced = append(synced, p); return real(p) }
	defer func() { syncDir = real }()
	_, err = OpenDisk(dir)
	require.NoError(t, err)
	assert.Contains(t, synced, dir, "the store's directory, holding the new quarantine/, was not synced")
}

// OpenDisk makes the store's own directory durable in the directory that
// holds it, and so every directory it had to create on the way: without
// that a crash can take the whole store, every blob Put said was on disk,
// with the entry of a directory the first start made.
func TestOpenDiskSyncsTheStoresOwnEntry(t *testing.T) {
	root := t.TempDir()
	var synced []string
	real := syncDir
	syncDir = func(p string) error { synced = append(synced, p); return real(p) }
	defer func() { syncDir = real }()
	d, err := OpenDisk(filepath.Join(root, "new", "store"))
	require.NoError(t, err)
	require.NoError(t, d.Close())
	assert.Contains(t, synced, filepath.Join(root, "new"), "the entry of store/ was not synced")
	assert.Contains(t, synced, root, "the entry of new/, made on the way, was not synced")

	synced = nil
	d, err = OpenDisk(filepath.Join(root, "new", "store"))
	require.NoError(t, err)
	require.NoError(t, d.Close())
	assert.Contains(t, synced, filepath.Join(root, "new"), "an existing store's entry, perhaps made by a run that died before syncing it, was not synced")
}

// A Put makes its blob durable in order: all of the temporary file's
// bytes, then the rename into place, then the directory that holds it.
// Renamed before its bytes are synced, a blob can be named but empty or
// torn after a crash. The rename is seen on disk: at each sync, is the
// blob in place yet?
func TestPutSyncsTheFileBeforeTheRename(t *testing.T) {
	d, err := OpenDisk(t.TempDir())
	require.NoError(t, err)
	content := "durable"
	h := Sum([]byte(content))
	final := d.path(h)
	var events []string
	sawRename := func() {
		if _, err := os.Stat(final); err == nil && !slices.Contains(events, "rename") {
			events = append(events, "rename")
		}
	}
	realFile, realDir := syncFile, syncDir
	t.Cleanup(func() { syncFile, syncDir = realFile, realDir })
	syncFile = func(f *os.File) error {
		if filepath.Dir(f.Name()) != d.tmp {
			return realFile(f) // a directory, synced by syncDir
		}
		sawRename()
		events = append(events, "sync file")
		info, err := f.Stat()
		if assert.NoError(t, err) {
			assert.Equal(t, int64(len(content)), info.Size(), "synced before all of it was written")
		}
		return realFile(f)
	}
	syncDir = func(dir string) error {
		sawRename()
		if dir == filepath.Dir(final) {
			events = append(events, "sync dir")
		}
		return realDir(dir)
	}

	_, err = d.Put(h, strings.NewReader(content))
	require.NoError(t, err)
	assert.Equal(t, []string{"sync file", "rename", "sync dir"}, events)
}

// A Put whose file sync fails stores nothing, keeps no temporary file,
// and returns the error for its caller to see.
func TestAFailedFileSyncStoresNothing(t *testing.T) {
	d, err := OpenDisk(t.TempDir())
	require.NoError(t, err)
	errSync := errors.New("sync failed (test)")
	real := syncFile
	syncFile = func(f *os.File) error {
		if filepath.Dir(f.Name()) == d.tmp {
			return errSync
		}
		return real(f) // a directory, synced by syncDir
	}
	t.Cleanup(func() { syncFile = real })

	h := Sum([]byte("durable"))
	_, err = d.Put(h, strings.NewReader("durable"))
	require.ErrorIs(t, err, errSync)
	_, err = d.Stat(h)
	assert.ErrorIs(t, err, ErrNotFound, "a blob whose bytes may not be on disk was stored")
	n, err := d.TempFiles()
	require.NoError(t, err)
	assert.Zero(t, n, "the temporary file was left behind")
	u, _ := d.Usage()
	assert.Equal(t, Usage{}, u)
}

// A removal is durable before it is reported: Remove, RemoveStamped and
// Quarantine sync the directories they take the blob out of (and
// Quarantine the one it puts it in), and a failed sync is their error.
func TestRemovalsSyncTheirDirectories(t *testing.T) {
	errSync := errors.New("sync failed (test)")
	for _, c := range []struct {
		name   string
		remove func(d *Disk, h Hash) error
		extra  func(d *Disk) []string // directories synced besides the blob's
	}{
		{"Remove", (*Disk).Remove, func(*Disk) []string { return nil }},
		{"RemoveStamped", func(d *Disk, h Hash) error {
			stamp, err := d.Stamp(h)
			if err != nil {
				return err
			}
			return d.RemoveStamped(h, stamp)
		}, func(*Disk) []string { return nil }},
		{"Quarantine", (*Disk).Quarantine, func(d *Disk) []string { return []string{d.quarantine} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := OpenDisk(t.TempDir())
			require.NoError(t, err)
			h := Sum([]byte(c.name))
			_, err = d.Put(h, strings.NewReader(c.name))
			require.NoError(t, err)

			var synced []string
			var fail error
			real := syncDir
			syncDir = func(p string) error {
				synced = append(synced, p)
				if fail != nil {
					return fail
				}
				return real(p)
			}
			t.Cleanup(func() { syncDir = real })

			require.NoError(t, c.remove(d, h))
			assert.ElementsMatch(t, append(c.extra(d), filepath.Dir(d.path(h))), synced)

			_, err = d.Put(h, strings.NewReader(c.name))
			require.NoError(t, err)
			fail = errSync
			assert.ErrorIs(t, c.remove(d, h), errSync, "a removal whose sync failed was reported done")
		})
	}
}

// syncDir really syncs the directory (it does nothing on Windows, which
// cannot open one for it), and a directory it cannot open is its error.
func TestSyncDirSyncsTheDirectory(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("syncDir does nothing on Windows")
	}
	dir := t.TempDir()
	var synced []string
	real := syncFile
	syncFile = func(f *os.File) error { synced = append(synced, f.Name()); return real(f) }
	t.Cleanup(func() { syncFile = real })

	require.NoError(t, syncDir(dir))
	assert.Equal(t, []string{dir}, synced)
	assert.ErrorIs(t, syncDir(filepath.Join(dir, "missing")), fs.ErrNotExist)
}

// A new store's ID is on disk before OpenDisk returns, written as a Put
// writes a blob: the file synced, renamed into place, the directory
// synced. An ID a crash lost would come back as a new one, and the
// metadata server would no longer know whose copies the blobs are.
func TestANewIDIsDurable(t *testing.T) {
	dir := t.TempDir()
	id := filepath.Join(dir, "id")
	var events []string
	sawRename := func() {
		if _, err := os.Stat(id); err == nil && !slices.Contains(events, "rename") {
			events = append(events, "rename")
		}
	}
	realFile, realDir := syncFile, syncDir
	t.Cleanup(func() { syncFile, syncDir = realFile, realDir })
	syncFile = func(f *os.File) error {
		if f.Name() == id+".tmp" {
			sawRename()
			events = append(events, "sync file")
			info, err := f.Stat()
			if assert.NoError(t, err) {
				assert.NotZero(t, info.Size(), "synced before the ID was written")
			}
		}
		return realFile(f)
	}
	syncDir = func(p string) error {
		sawRename()
		if p == dir && slices.Contains(events, "rename") {
			events = append(events, "sync dir")
		}
		return realDir(p)
	}

	d, err := OpenDisk(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"sync file", "rename", "sync dir"}, events)
	b, err := os.ReadFile(id)
	require.NoError(t, err)
	assert.Equal(t, d.ID()+"\n", string(b))
}
