package meta_test

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func openNS(t *testing.T) (*meta.Namespace, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "meta.db")
	ns, err := meta.OpenNamespace(path)
	require.NoError(t, err)
	t.Cleanup(func() { ns.Close() })
	return ns, path
}

func h(s string) blob.Hash { return blob.Sum([]byte(s)) }

func TestCommitAndGet(t *testing.T) {
	ns, _ := openNS(t)
	v1, err := ns.Commit(meta.CommitRequest{Key: "k", Hash: h("one"), Size: 3, Replicas: []string{"http://b", "http://a"}}, t0)
	require.NoError(t, err)
	want := meta.Version{Key: "k", Number: 1, Hash: h("one"), Size: 3, Created: t0, Replicas: []string{"http://a", "http://b"}}
	if diff := cmp.Diff(want, v1); diff != "" {
		t.Errorf("first commit (-want +got):\n%s", diff)
	}
	v2, err := ns.Commit(meta.CommitRequest{Key: "k", Hash: h("two"), Size: 3, Replicas: []string{"http://a"}}, t0.Add(time.Second))
	require.NoError(t, err)
	assert.Equal(t, uint64(2), v2.Number)

	latest, err := ns.Get("k", 0)
	require.NoError(t, err)
	assert.Equal(t, h("two"), latest.Hash)
	old, err := ns.Get("k", 1)
	require.NoError(t, err)
	assert.Equal(t, h("one"), old.Hash)

	_, err = ns.Get("k", 3)
	assert.ErrorIs(t, err, meta.ErrNotFound)
	assert.ErrorContains(t, err, `"k": has no version 3`, "the key exists: the error must name the missing version")
	_, err = ns.Get("other", 0)
	assert.ErrorIs(t, err, meta.ErrNotFound)
	_, err = ns.Get("k\x00", 0) // would collide with the version encoding
	assert.ErrorIs(t, err, meta.ErrBadKey)
}

// Keys that are prefixes of one another keep separate version lists.
func TestPrefixKeysDoNotMix(t *testing.T) {
	ns, _ := openNS(t)
	for _, k := range []string{"a/b", "a", "a/b/c", "a", "a b"} {
		_, err := ns.Commit(meta.CommitRequest{Key: k, Hash: h(k), Size: 1}, t0)
		require.NoError(t, err)
	}
	vs, err := ns.Versions("a")
	require.NoError(t, err)
	assert.Len(t, vs, 2)
	v, err := ns.Get("a/b", 0)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), v.Number)
}

// A commit's answer says whether it replaced an object: not the first
// version, not one after a delete marker.
func TestCommitSaysWhetherItReplaced(t *testing.T) {
	ns, _ := openNS(t)
	commit := func(content string) bool {
		t.Helper()
		v, err := ns.Commit(meta.CommitRequest{Key: "k", Hash: h(content), Size: 1}, t0)
		require.NoError(t, err)
		return v.Replaced
	}
	assert.False(t, commit("one"), "the first version")
	assert.True(t, commit("two"), "over an object")
	_, err := ns.Delete("k", t0)
	require.NoError(t, err)
	assert.False(t, commit("three"), "after a delete marker")
	v, err := ns.Get("k", 0)
	require.NoError(t, err)
	assert.False(t, v.Replaced, "only a commit's answer says it")
}

// A key's versions come by pages, oldest first: a page past the last is
// empty, not an error, and only a key with no versions is ErrNotFound.
func TestVersionPages(t *testing.T) {
	ns, _ := openNS(t)
	for _, k := range []string{"k", "k", "k", "k", "k", "k0"} {
		_, err := ns.Commit(meta.CommitRequest{Key: k, Hash: h(k), Size: 1}, t0)
		require.NoError(t, err)
	}
	_, err := ns.Delete("k", t0)
	require.NoError(t, err)

	numbers := func(l meta.VersionList) []uint64 {
		var n []uint64
		for _, v := range l.Versions {
			n = append(n, v.Number)
		}
		return n
	}
	var got [][]uint64
	var after uint64
	for range 10 {
		l, err := ns.VersionPage("k", after, 2)
		require.NoError(t, err)
		got = append(got, numbers(l))
		if l.Next == 0 {
			break
		}
		after = l.Next
	}
	assert.Equal(t, [][]uint64{{1, 2}, {3, 4}, {5, 6}}, got, "six versions, the last a delete marker, two a page")

	l, err := ns.VersionPage("k", 5, 0)
	require.NoError(t, err)
	assert.Equal(t, []uint64{6}, numbers(l), "limit 0: every version after 5")
	assert.True(t, l.Versions[0].Deleted)
	for _, past := range []uint64{6, 7, math.MaxUint64} {
		l, err = ns.VersionPage("k", past, 2)
		require.NoError(t, err, "after %d", past)
		assert.Empty(t, l.Versions, "after %d", past)
		assert.NotNil(t, l.Versions, "after %d: [] in JSON, not null", past)
		assert.Zero(t, l.Next, "after %d", past)
	}
	_, err = ns.VersionPage("k1", 0, 2)
	assert.ErrorIs(t, err, meta.ErrNotFound, "a key with no versions, next to one with")
	vs, err := ns.Versions("k")
	require.NoError(t, err)
	assert.Len(t, vs, 6, "Versions: all of them")

	// The versions of "j" are followed by k's, whose database keys have
	// the same length: a page stops at the end of j's all the same.
	_, err = ns.Commit(meta.CommitRequest{Key: "j", Hash: h("j"), Size: 1}, t0)
	require.NoError(t, err)
	vs, err = ns.Versions("j")
	require.NoError(t, err)
	assert.Len(t, vs, 1, "j's version, and none of k's")
}

func TestConcurrentWritersGetDistinctOrderedVersions(t *testing.T) {
	ns, _ := openNS(t)
	const n = 20
	got := make([]meta.Version, n) // what writer i was told it committed
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			got[i], errs[i] = ns.Commit(meta.CommitRequest{Key: "hot", Hash: h(string(rune('a' + i))), Size: 1}, t0)
		})
	}
	wg.Wait()
	numbers := make([]uint64, n)
	for i := range n {
		require.NoError(t, errs[i])
		numbers[i] = got[i].Number
		// The number a writer was given names its own content, not
		// another writer's that committed at the same moment.
		v, err := ns.Get("hot", got[i].Number)
		require.NoError(t, err)
		assert.Equal(t, h(string(rune('a'+i))), v.Hash, "version %d", got[i].Number)
	}
	slices.Sort(numbers)
	for i, num := range numbers {
		assert.Equal(t, uint64(i+1), num, "version numbers must be 1..%d, each once", n)
	}
	vs, err := ns.Versions("hot")
	require.NoError(t, err)
	assert.Len(t, vs, n)
}

func TestDeleteMarker(t *testing.T) {
	ns, _ := openNS(t)
	_, err := ns.Commit(meta.CommitRequest{Key: "k", Hash: h("v1"), Size: 2, Replicas: []string{"http://a"}}, t0)
	require.NoError(t, err)
	marker, err := ns.Delete("k", t0.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, meta.Version{Key: "k", Number: 2, Created: t0.Add(time.Minute), Deleted: true}, marker)

	_, err = ns.Get("k", 0)
	assert.ErrorIs(t, err, meta.ErrDeleted)
	old, err := ns.Get("k", 1)
	require.NoError(t, err, "an older version must stay readable after a delete")
	assert.Equal(t, h("v1"), old.Hash)

	_, err = ns.Delete("k", t0)
	assert.ErrorIs(t, err, meta.ErrDeleted, "deleting a deleted key")
	_, err = ns.Delete("never", t0)
	assert.ErrorIs(t, err, meta.ErrNotFound)
	assert.NotErrorIs(t, err, meta.ErrDeleted, "deleting a key that never was")

	// Writing again revives the key.
	v3, err := ns.Commit(meta.CommitRequest{Key: "k", Hash: h("v3"), Size: 2}, t0)
	require.NoError(t, err)
	assert.Equal(t, uint64(3), v3.Number)
}

func TestList(t *testing.T) {
	ns, _ := openNS(t)
	for _, k := range []string{"b/2", "a", "b/1", "b/3", "b/1", "c", "b/gone"} {
		_, err := ns.Commit(meta.CommitRequest{Key: k, Hash: h(k), Size: 1}, t0)
		require.NoError(t, err)
	}
	_, err := ns.Delete("b/gone", t0)
	require.NoError(t, err)

	keys := func(l meta.Listing) []string {
		var ks []string
		for _, o := range l.Objects {
			ks = append(ks, o.Key)
		}
		return ks
	}
	page1, err := ns.List("b/", "", 2)
	require.NoError(t, err)
	assert.Equal(t, []string{"b/1", "b/2"}, keys(page1))
	assert.Equal(t, "b/2", page1.Next)
	assert.Equal(t, uint64(2), page1.Objects[0].Number, "a listing shows the latest version")

	page2, err := ns.List("b/", page1.Next, 2)
	require.NoError(t, err)
	assert.Equal(t, []string{"b/3"}, keys(page2), "deleted keys are not listed")
	assert.Empty(t, page2.Next)

	all, err := ns.List("", "", 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b/1", "b/2", "b/3", "c"}, keys(all))

	none, err := ns.List("zzz", "", 10)
	require.NoError(t, err)
	assert.Empty(t, none.Objects)

	// A key that is the prefix itself is listed once: a page that ends
	// on it goes on after it, not from the prefix again.
	first, err := ns.List("b", "", 1)
	require.NoError(t, err)
	require.Equal(t, "b/1", first.Next)
	_, err = ns.Commit(meta.CommitRequest{Key: "b", Hash: h("b"), Size: 1}, t0)
	require.NoError(t, err)
	first, err = ns.List("b", "", 1)
	require.NoError(t, err)
	assert.Equal(t, []string{"b"}, keys(first))
	second, err := ns.List("b", first.Next, 1)
	require.NoError(t, err)
	assert.Equal(t, []string{"b/1"}, keys(second), "the page after the key equal to the prefix")
}

// TestListLooksAtBoundedKeys checks that one page of List reads no more
// than its scan limit of keys, live or deleted: under many deleted keys a
// page ends short (or empty) with Next set, and following Next to the end
// still lists every live key once.
func TestListLooksAtBoundedKeys(t *testing.T) {
	ns, _ := openNS(t)
	meta.SetListScanLimit(ns, 4)
	var live []string
	for i := range 30 {
		k := fmt.Sprintf("p/%02d", i)
		_, err := ns.Commit(meta.CommitRequest{Key: k, Hash: h(k), Size: 1}, t0)
		require.NoError(t, err)
		if i < 10 || i%7 == 0 { // keys 00 to 09 and every seventh are deleted
			_, err := ns.Delete(k, t0)
			require.NoError(t, err)
			continue
		}
		live = append(live, k)
	}
	first, err := ns.List("p/", "", 3)
	require.NoError(t, err)
	assert.Empty(t, first.Objects, "the first four keys are deleted")
	assert.Equal(t, "p/03", first.Next, "the page ends at the last key it looked at")

	var got []string
	after, pages := "", 0
	for {
		page, err := ns.List("p/", after, 3)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page.Objects), 3)
		for _, o := range page.Objects {
			got = append(got, o.Key)
		}
		if pages++; page.Next == "" {
			break
		}
		after = page.Next
		require.Less(t, pages, 100, "List does not get to the end")
	}
	assert.Equal(t, live, got)
}

// The bound TestListLooksAtBoundedKeys checks at 4 keys is the
// chapter's 10,000 in a namespace opened as the metadata server opens
// it: under 10,001 deleted keys the first page is empty, and ends at the
// 10,000th. (Commits made at once share transactions: group commit.)
func TestAListPageLooksAtTenThousandKeys(t *testing.T) {
	ns, _ := openNS(t)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256)
	for i := range 10_001 {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			k := fmt.Sprintf("d/%05d", i)
			_, err := ns.Commit(meta.CommitRequest{Key: k, Hash: h(k), Size: 1}, t0)
			assert.NoError(t, err)
			_, err = ns.Delete(k, t0)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	page, err := ns.List("d/", "", 10)
	require.NoError(t, err)
	assert.Empty(t, page.Objects)
	assert.Equal(t, "d/09999", page.Next, "the page ends at the 10,000th key")
}

// A database another process (here: another open) holds is refused with
// an error that says so, not with bbolt's bare "timeout".
func TestOpeningADatabaseInUseSaysWhy(t *testing.T) {
	meta.SetLockWait(t, time.Millisecond) // the lock is held throughout: any wait ends the same way
	path := filepath.Join(t.TempDir(), "meta.db")
	ns, err := meta.OpenNamespace(path)
	require.NoError(t, err)
	defer ns.Close()

	opened := make(chan error, 1)
	go func() {
		other, err := meta.OpenNamespace(path)
		if err == nil {
			other.Close()
		}
		opened <- err
	}()
	select {
	case err = <-opened:
	case <-time.After(10 * time.Second):
		ns.Close() // lets the waiting OpenNamespace return
		t.Fatal("OpenNamespace of a database held by another went on waiting for it after the 1 ms it was given")
	}
	require.Error(t, err)
	assert.ErrorIs(t, err, bolt.ErrTimeout)
	assert.Contains(t, err.Error(), path+": another process has it open (a metadata server still running on it?); waited 1ms for it")
}

// A metadata server started on a database another one has open gives
// up after 5 s, saying why; bbolt's default, 0, would have it wait for
// ever without a word. Waiting out the 5 s here would make the test that
// long, so this checks the value; TestOpeningADatabaseInUseSaysWhy checks
// that OpenNamespace gives up after the wait it is given.
func TestOpeningADatabaseInUseWaitsFiveSeconds(t *testing.T) {
	assert.Equal(t, 5*time.Second, meta.LockWait())
}

// OpenNamespace syncs the directory that holds the database: bbolt syncs
// the file only, and a database file it has just created could be lost in
// a crash with every commit it acknowledged. An existing one is synced
// too: the run that made it may have died before.
func TestOpenNamespaceSyncsItsDirectory(t *testing.T) {
	dir := t.TempDir()
	var synced []string
	meta.SetSyncDir(t, func(d string) error { synced = append(synced, d); return nil })
	for _, open := range []string{"creating", "reopening"} {
		synced = nil
		ns, err := meta.OpenNamespace(filepath.Join(dir, "meta.db"))
		require.NoError(t, err)
		require.NoError(t, ns.Close())
		assert.Contains(t, synced, dir, "%s the database did not sync the directory naming it", open)
	}
	meta.SetSyncDir(t, func(string) error { return errors.New("disk on fire") })
	_, err := meta.OpenNamespace(filepath.Join(dir, "meta.db"))
	assert.ErrorContains(t, err, "disk on fire", "a failed sync must fail the open")
}

// Everything committed survives closing and reopening the database.
func TestNamespaceSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	ns, err := meta.OpenNamespace(path)
	require.NoError(t, err)
	var want []meta.Version
	for _, k := range []string{"x", "y", "x"} {
		v, err := ns.Commit(meta.CommitRequest{Key: k, Hash: h(k), Size: 1, Replicas: []string{"http://a"}}, t0)
		require.NoError(t, err)
		v.Replaced = false // a commit's answer only
		want = append(want, v)
	}
	require.NoError(t, ns.Close())

	ns, err = meta.OpenNamespace(path)
	require.NoError(t, err)
	defer ns.Close()
	for _, w := range want {
		got, err := ns.Get(w.Key, w.Number)
		require.NoError(t, err)
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("after reopening (-want +got):\n%s", diff)
		}
	}
	v, err := ns.Commit(meta.CommitRequest{Key: "x", Hash: h("x3"), Size: 1}, t0)
	require.NoError(t, err)
	assert.Equal(t, uint64(3), v.Number, "numbering continues after a restart")
}

func TestDropReplica(t *testing.T) {
	ns, _ := openNS(t)
	_, err := ns.Commit(meta.CommitRequest{Key: "k", Hash: h("k"), Size: 1, Replicas: []string{"http://a", "http://b"}}, t0)
	require.NoError(t, err)
	require.NoError(t, ns.DropReplica(h("k"), "http://a"))
	rs, err := ns.Replicas(h("k"))
	require.NoError(t, err)
	assert.Equal(t, []string{"http://b"}, rs)

	// A blob the namespace does not know stays unknown: dropping a copy
	// of it records no blob, which AddReplicas would then take as known.
	require.NoError(t, ns.DropReplica(h("unknown"), "http://a"))
	assert.ErrorIs(t, ns.AddReplicas(h("unknown"), []string{"http://b"}), meta.ErrNotFound)
}

// A blob's chunk list is recorded with its first commit that has one,
// kept by later commits (a different list is ignored), dropped on
// request, and forgotten with the blob.
func TestNamespaceChunks(t *testing.T) {
	ns, _ := openNS(t)
	list := &blob.Chunks{Size: 2, Hashes: []blob.Hash{h("ab"), h("c")}}
	_, err := ns.Chunks(h("abc"))
	assert.ErrorIs(t, err, meta.ErrNotFound, "before any commit")

	_, err = ns.Commit(meta.CommitRequest{Key: "k", Hash: h("abc"), Size: 3, Replicas: []string{"a"}, Chunks: list}, t0)
	require.NoError(t, err)
	got, err := ns.Chunks(h("abc"))
	require.NoError(t, err)
	assert.Equal(t, *list, got)

	_, err = ns.Commit(meta.CommitRequest{Key: "same-content", Hash: h("abc"), Size: 3, Replicas: []string{"a"}}, t0)
	require.NoError(t, err, "a commit without a list")
	got, err = ns.Chunks(h("abc"))
	require.NoError(t, err)
	assert.Equal(t, *list, got, "a commit without a list keeps the recorded one")

	other := &blob.Chunks{Size: 2, Hashes: []blob.Hash{h("ab"), h("d")}}
	_, err = ns.Commit(meta.CommitRequest{Key: "k", Hash: h("abc"), Size: 3, Replicas: []string{"a"}, Chunks: other}, t0)
	require.NoError(t, err, "a commit does not fail over a list")
	got, err = ns.Chunks(h("abc"))
	require.NoError(t, err)
	assert.Equal(t, *list, got, "the first list stays")

	require.NoError(t, ns.DropChunks(h("abc")))
	_, err = ns.Chunks(h("abc"))
	assert.ErrorIs(t, err, meta.ErrNotFound, "dropped")
	_, err = ns.Commit(meta.CommitRequest{Key: "k", Hash: h("abc"), Size: 3, Replicas: []string{"a"}, Chunks: other}, t0)
	require.NoError(t, err)
	got, err = ns.Chunks(h("abc"))
	require.NoError(t, err)
	assert.Equal(t, *other, got, "after a drop, the next commit's list is recorded")

	_, err = ns.Commit(meta.CommitRequest{Key: "k", Hash: h("xyz"), Size: 3, Chunks: &blob.Chunks{Size: 2, Hashes: []blob.Hash{h("xy")}}}, t0)
	assert.ErrorIs(t, err, blob.ErrBadChunks, "one hash for two chunks")

	// Once no version refers to the blob, forgetting it drops its list.
	_, err = ns.Commit(meta.CommitRequest{Key: "k", Hash: h("new"), Size: 3}, t0)
	require.NoError(t, err)
	_, err = ns.Commit(meta.CommitRequest{Key: "same-content", Hash: h("new"), Size: 3}, t0)
	require.NoError(t, err)
	_, err = ns.Prune(1)
	require.NoError(t, err)
	forgotten, err := ns.ForgetBlobs([]blob.Hash{h("abc")})
	require.NoError(t, err)
	assert.Contains(t, forgotten, h("abc"))
	_, err = ns.Chunks(h("abc"))
	assert.ErrorIs(t, err, meta.ErrNotFound, "the list went with the blob")
}

// A version's time is recorded in UTC whatever the clock's zone (the
// server's clock is time.Now, in the machine's), so that every version
// in the JSON answers is written alike: "...Z", not "+08:00".
func TestVersionTimesAreInUTC(t *testing.T) {
	ns, _ := openNS(t)
	beijing := t0.In(time.FixedZone("CST", 8*60*60))
	v, err := ns.Commit(meta.CommitRequest{Key: "k", Hash: h("k"), Size: 1}, beijing)
	require.NoError(t, err)
	marker, err := ns.Delete("k", beijing)
	require.NoError(t, err)
	vs, err := ns.Versions("k")
	require.NoError(t, err)
	for _, v := range append(vs, v, marker) {
		assert.Equal(t, time.UTC, v.Created.Location(), "version %d", v.Number)
		assert.True(t, t0.Equal(v.Created), "version %d: the same instant", v.Number)
	}
}

// A data server's last known address is the last one recorded, also
// after a restart of the database: a server that moved (a new port) is
// found where it is now.
func TestServerAddrIsTheLastRecorded(t *testing.T) {
	ns, path := openNS(t)
	_, ok := ns.ServerAddr("ds-1")
	assert.False(t, ok, "never recorded")
	require.NoError(t, ns.SetServerAddr("ds-1", "http://a"))
	require.NoError(t, ns.SetServerAddr("ds-1", "http://a")) // a heartbeat from where it was
	require.NoError(t, ns.SetServerAddr("ds-1", "http://b")) // moved
	require.NoError(t, ns.Close())

	ns, err := meta.OpenNamespace(path)
	require.NoError(t, err)
	defer ns.Close()
	addr, ok := ns.ServerAddr("ds-1")
	assert.True(t, ok)
	assert.Equal(t, "http://b", addr)
}
