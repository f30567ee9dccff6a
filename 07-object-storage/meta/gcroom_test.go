package meta_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/dataserver"
	"github.com/gocourse/gateway/07-object-storage/meta"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// Garbage takes room until GC removes it: a store whose data servers are
// full of it (a version pruned past -keep, and the blob of a write whose
// commit never came) refuses a new write for want of room, and takes it
// once a GC after the grace period has deleted the garbage, which the
// data servers' heartbeats then report as free.
func TestAStoreFullOfGarbageTakesWritesAgainAfterGC(t *testing.T) {
	cl := storetest.NewWith(t, 2, meta.Options{Timeout: 10 * time.Second, Grace: 30 * time.Second, KeepVersions: 1, GCGrace: time.Hour},
		dataserver.Options{Capacity: 100})
	c := newClient(t, cl)
	x30 := func(b string) string { return strings.Repeat(b, 30) }
	_, err := c.Put(bg, "k", strings.NewReader(x30("a")))
	require.NoError(t, err)
	_, err = c.Put(bg, "k", strings.NewReader(x30("b"))) // "a" is pruned past -keep 1
	require.NoError(t, err)
	failed := x30("f") // uploaded by a writer that never committed
	for _, d := range cl.Data {
		_, err := d.Store.Put(blob.Sum([]byte(failed)), strings.NewReader(failed))
		require.NoError(t, err)
	}
	cl.Beat()
	free := func() (got []int64) {
		for _, d := range cl.Data {
			hb, err := d.Server.Heartbeat()
			require.NoError(t, err)
			got = append(got, hb.Free)
		}
		return got
	}
	require.Equal(t, []int64{10, 10}, free())
	_, err = c.Put(bg, "new", strings.NewReader(x30("n")))
	require.ErrorIs(t, err, meta.ErrNoRoom, "full of garbage")

	rep := gc(t, cl)
	assert.Equal(t, meta.GCReport{Pruned: 1, Garbage: 2}, rep, "within the grace period: marked, kept")
	assert.Equal(t, []int64{10, 10}, free())

	cl.Clock.Add(time.Hour)
	cl.Beat()
	rep = gc(t, cl)
	assert.Equal(t, meta.GCReport{Garbage: 2, Deleted: 2, Copies: 4}, rep)
	assert.Equal(t, []int64{70, 70}, free(), "GC's DELETEs give the room back")
	cl.Beat()
	_, err = c.Put(bg, "new", strings.NewReader(x30("n")))
	require.NoError(t, err, "room again after GC")
	assert.Equal(t, x30("n"), content(t, c, "new"))
	assert.Equal(t, x30("b"), content(t, c, "k"), "the version -keep kept")
}

// GC's report counts the copies it deleted, not those that were gone by
// the time its DELETE came: here the scrubber set server 0's copy of one
// blob aside (quarantined) after the inventory listed it. The DELETE
// finds nothing (404), which is no copy deleted, and no failure of the
// server either: GC goes on to delete its copy of the other blob. The
// bytes set aside stay in quarantine for a person to look at.
func TestGCDoesNotCountACopyGoneBeforeItsDelete(t *testing.T) {
	cl, c := store(t, 2, meta.Options{KeepVersions: 1, GCGrace: time.Hour})
	steps(t, c, "k", "old k", "new k")
	steps(t, c, "j", "old j", "new j")
	require.Equal(t, 2, gc(t, cl).Pruned)
	cl.Clock.Add(2 * time.Hour)
	cl.Beat()
	gone := min(blob.Sum([]byte("old k")), blob.Sum([]byte("old j"))) // GC's first
	meta.SetGCHook(cl.Meta(), func() {
		// After the inventories, before the DELETEs.
		require.NoError(t, cl.Data[0].Store.Quarantine(gone))
	})
	rep := gc(t, cl)
	assert.Equal(t, meta.GCReport{Garbage: 2, Deleted: 2, Copies: 3}, rep, "three copies deleted, one found gone")
	for _, h := range []blob.Hash{blob.Sum([]byte("old k")), blob.Sum([]byte("old j"))} {
		assert.Zero(t, onDisk(cl, h))
	}
	q, err := cl.Data[0].Store.Quarantined()
	require.NoError(t, err)
	assert.Equal(t, []blob.Hash{gone}, q, "GC does not touch the quarantine")
}

// A trim counts the surplus copies it removed, not one that was gone by
// the time its DELETE came (set aside as damaged after the round saw
// it): that copy is off the record, not trimmed, and the keepers stay.
func TestTrimDoesNotCountACopyGoneBeforeItsDelete(t *testing.T) {
	var stray *storetest.DataNode
	var hash blob.Hash
	setAside := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if req.Method == http.MethodDelete && req.URL.Host == host(stray) {
			if err := stray.Store.Quarantine(hash); err != nil {
				return nil, err
			}
		}
		return http.DefaultTransport.RoundTrip(req)
	})
	cl, _, _, v, s := surplus(t, setAside)
	stray, hash = s, v.Hash

	rep := round(t, cl)
	assert.Equal(t, 1, rep.Adopted)
	assert.Zero(t, rep.Trimmed, "the copy was gone before the DELETE")
	assert.False(t, recorded(t, cl, v.Hash, stray))
	assert.Len(t, intact(t, cl, v.Hash), 2, "the keepers")
}

// A version kept by -keep whose content a pruned version of the same key
// also had (put a, put b, put a again) shares that version's blob: the
// prune frees the pruned record, never the blob, which GC keeps past its
// grace period, with every copy, and the kept version reads back.
func TestGCKeepsTheBlobOfAKeptVersionThatAPrunedOneShared(t *testing.T) {
	cl, c := store(t, 2, meta.Options{KeepVersions: 1, GCGrace: time.Hour})
	steps(t, c, "k", "same", "other", "same")
	assert.Equal(t, 2, gc(t, cl).Pruned)
	cl.Clock.Add(2 * time.Hour)
	cl.Beat()
	rep := gc(t, cl)
	assert.Equal(t, meta.GCReport{Garbage: 1, Deleted: 1, Copies: 2}, rep, "only other's blob")
	assert.Len(t, intact(t, cl, blob.Sum([]byte("same"))), 2)
	assert.Zero(t, onDisk(cl, blob.Sum([]byte("other"))))
	assert.Equal(t, "same", content(t, c, "k"))
}
