package meta_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/dataserver"
	"github.com/gocourse/gateway/07-object-storage/meta"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// A placement lists the servers whose last heartbeat said they had no
// room for the blob after the others, each part in the placer's order
// (here, by ID). A server with a capacity of 0 has no limit, and one
// with exactly the room needed has room.
func TestPlacementPutsServersWithoutRoomLast(t *testing.T) {
	f := newMeta(t, meta.Options{Placer: &lastPlacer{}}) // IDs in sorted order
	for _, hb := range []meta.Heartbeat{
		{ID: "a", Addr: "http://a", Capacity: 100, Free: 10},
		{ID: "b", Addr: "http://b"}, // no limit
		{ID: "c", Addr: "http://c", Capacity: 100, Free: 50},
		{ID: "d", Addr: "http://d", Capacity: 100, Free: 0},
	} {
		code, body := f.do(t, http.MethodPost, "/heartbeat", hb)
		require.Equal(t, http.StatusNoContent, code, body)
	}
	targets := func(size int64) []string {
		t.Helper()
		code, body := f.do(t, http.MethodPost, "/writes", meta.WriteRequest{Key: "k", Hash: h("x"), Size: size})
		require.Equal(t, http.StatusOK, code, body)
		var p meta.Placement
		require.NoError(t, json.Unmarshal([]byte(body), &p))
		return p.Targets
	}
	assert.Equal(t, []string{"http://b", "http://c", "http://a", "http://d"}, targets(50))
	assert.Equal(t, []string{"http://a", "http://b", "http://c", "http://d"}, targets(10), "room on all but d")
	assert.Equal(t, []string{"http://a", "http://b", "http://c", "http://d"}, targets(0), "an empty blob fits everywhere")
}

// Repair copies a missing copy to a server with room, past one the ring
// prefers whose heartbeat says it is full.
func TestRepairCopiesToAServerWithRoom(t *testing.T) {
	cl := storetest.New(t, 4, meta.Options{Timeout: 10 * time.Second, Grace: 30 * time.Second, Placer: &lastPlacer{}})
	ids, v := oneCopyLost(t, cl) // ids[2] would be the next choice...
	full := cl.ByID(ids[2])
	beatAs(t, cl, full, 10) // ...but says it is full

	rep := round(t, cl)
	assert.Equal(t, 1, rep.Copied)
	assert.ElementsMatch(t, []string{ids[0], ids[3]}, intact(t, cl, v.Hash))
	assert.False(t, full.Has(v.Hash), "copied to the full server")
}

// oneCopyLost puts a blob on cl, whose placer orders servers by ID, and
// kills the second of its two servers until it is dead. It returns the
// servers' IDs in order (the blob was on ids[0] and ids[1]), and the
// version put.
func oneCopyLost(t *testing.T, cl *storetest.Cluster) ([]string, meta.Version) {
	t.Helper()
	ids := make([]string, 0, len(cl.Data))
	for _, d := range cl.Data {
		ids = append(ids, d.Store.ID())
	}
	slices.Sort(ids)
	v, err := newClient(t, cl).Put(bg, "k", strings.NewReader("copy me somewhere with room"))
	require.NoError(t, err)
	require.ElementsMatch(t, ids[:2], intact(t, cl, v.Hash), "placed by ID")
	cl.Kill(index(cl, ids[1]))
	cl.Clock.Add(45 * time.Second)
	cl.Beat()
	return ids, v
}

// newClient is a client of cl without caches.
func newClient(t *testing.T, cl *storetest.Cluster) *client.Client {
	return client.New(client.Options{MetaURL: cl.MetaURL, TempDir: t.TempDir(), Now: cl.Clock.Now, Log: storetest.Quiet, MetaCacheEntries: -1, DataCacheBytes: 1})
}

// A data server enforces the capacity its heartbeats report, so a full
// one that a stale heartbeat still shows with room refuses the copy
// (507) and repair takes the next server.
func TestRepairMovesPastAServerThatRefusesForWantOfRoom(t *testing.T) {
	cl := storetest.NewWith(t, 4, meta.Options{Timeout: 10 * time.Second, Grace: 30 * time.Second, Placer: &lastPlacer{}}, dataserver.Options{Capacity: 100})
	ids, v := oneCopyLost(t, cl) // ids[2] reports room...
	full := cl.ByID(ids[2])
	filler := strings.Repeat("x", 90)
	_, err := full.Store.Put(blob.Sum([]byte(filler)), strings.NewReader(filler)) // ...and fills up after
	require.NoError(t, err)

	rep := round(t, cl)
	assert.Equal(t, 1, rep.Copied)
	assert.ElementsMatch(t, []string{ids[0], ids[3]}, intact(t, cl, v.Hash))
}

// beatAs sends a heartbeat for d that says it has free bytes of a
// capacity of 100, whatever its store holds.
func beatAs(t *testing.T, cl *storetest.Cluster, d *storetest.DataNode, free int64) {
	t.Helper()
	beat, _ := json.Marshal(meta.Heartbeat{ID: d.Store.ID(), Addr: d.URL(), Capacity: 100, Free: free})
	resp, err := http.Post(cl.MetaURL+"/heartbeat", "application/json", bytes.NewReader(beat))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
}

// A surplus copy is trimmed from a server whose heartbeat says it is
// full, though the ring prefers it; and that settles: the round after,
// with room on it again, or full again, copies and trims nothing. Repair
// copies only what is missing and trims only what is over R, never to
// follow the order, so free space that changes does not move a copy
// back and forth.
func TestRepairTrimsFromAFullServerAndSettles(t *testing.T) {
	cl, _, placer, v, stray := surplus(t, http.DefaultTransport)
	placer.setLast("") // the order is by ID: the stray's copy is last...
	ids := make([]string, 0, len(cl.Data))
	for _, d := range cl.Data {
		ids = append(ids, d.Store.ID())
	}
	slices.Sort(ids)
	require.Equal(t, ids[2], stray.Store.ID())
	first := cl.ByID(ids[0])
	beatAs(t, cl, first, 0) // ...but the first server says it is full

	rep := round(t, cl)
	assert.Equal(t, 1, rep.Adopted)
	assert.Equal(t, 1, rep.Trimmed)
	assert.ElementsMatch(t, []string{ids[1], ids[2]}, intact(t, cl, v.Hash))
	assert.False(t, first.Has(v.Hash), "the full server's copy is the one trimmed")

	for _, free := range []int64{100, 0, 100} {
		beatAs(t, cl, first, free)
		rep := round(t, cl)
		assert.Zero(t, rep.Copied+rep.Trimmed+rep.Adopted+rep.Dropped, "free %d: %+v", free, rep)
		assert.ElementsMatch(t, []string{ids[1], ids[2]}, intact(t, cl, v.Hash), "free %d", free)
	}
}
