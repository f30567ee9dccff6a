package meta_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// swapper is the metadata server's transport in these tests. Swapped, it
// sends each request for one data server's address to the other's: the
// two servers restarted after their last heartbeats, each on the other's
// old port. Anonymous, it removes meta.ServerIDHeader from every answer:
// data servers older than the header.
type swapper struct {
	mu        sync.Mutex
	to        map[string]string // host: the host that answers for it
	anonymous bool
}

func (s *swapper) swap(a, b *storetest.DataNode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ha, hb := strings.TrimPrefix(a.URL(), "http://"), strings.TrimPrefix(b.URL(), "http://")
	s.to = map[string]string{ha: hb, hb: ha}
}

func (s *swapper) unswap() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.to = nil
}

func (s *swapper) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	host, swapped := s.to[req.URL.Host]
	anonymous := s.anonymous
	s.mu.Unlock()
	if swapped {
		req = req.Clone(req.Context())
		req.URL.Host, req.Host = host, host
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil && anonymous {
		resp.Header.Del(meta.ServerIDHeader)
	}
	return resp, err
}

// commitTo asks cl's metadata server to commit key with the blob of data,
// held (the request says) by the servers at addrs, and returns the status.
func commitTo(t *testing.T, cl *storetest.Cluster, key, data string, addrs ...string) int {
	t.Helper()
	body, err := json.Marshal(meta.CommitRequest{Key: key, Hash: blob.Sum([]byte(data)), Size: int64(len(data)), Replicas: addrs})
	require.NoError(t, err)
	resp, err := http.Post(cl.MetaURL+"/commits", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func put(t *testing.T, d *storetest.DataNode, data string) blob.Hash {
	t.Helper()
	h := blob.Sum([]byte(data))
	_, err := d.Store.Put(h, strings.NewReader(data))
	require.NoError(t, err)
	return h
}

func replicas(t *testing.T, cl *storetest.Cluster, h blob.Hash) []string {
	t.Helper()
	ids, err := cl.Namespace().Replicas(h)
	require.NoError(t, err)
	return ids
}

// A commit's confirming HEAD that another data server answers (the
// address changed hands since its heartbeat) does not count a copy: B's
// address answered by A, which holds the blob, must not record a copy
// on B, which holds none.
func TestCommitCountsNoCopyFromAnotherServer(t *testing.T) {
	sw := &swapper{}
	cl := storetest.New(t, 2, meta.Options{Replicas: 1, Client: &http.Client{Transport: sw}})
	a, b := cl.Data[0], cl.Data[1]
	h := put(t, a, "held by A only")

	sw.swap(a, b)
	assert.Equal(t, http.StatusServiceUnavailable, commitTo(t, cl, "k", "held by A only", b.URL()), "a commit counting A's copy as B's")
	assert.Empty(t, replicas(t, cl, h), "copies recorded")

	sw.unswap()
	require.Equal(t, http.StatusCreated, commitTo(t, cl, "k", "held by A only", a.URL()))
	if diff := cmp.Diff([]string{a.Store.ID()}, replicas(t, cl, h)); diff != "" {
		t.Errorf("copies recorded (-want +got):\n%s", diff)
	}
}

// An answer that names no data server (one older than
// meta.ServerIDHeader) is believed, as before the header.
func TestAnAnswerNamingNoServerIsBelieved(t *testing.T) {
	sw := &swapper{anonymous: true}
	cl := storetest.New(t, 2, meta.Options{Replicas: 1, Client: &http.Client{Transport: sw}})
	a := cl.Data[0]
	h := put(t, a, "held by A")
	require.Equal(t, http.StatusCreated, commitTo(t, cl, "k", "held by A", a.URL()))
	if diff := cmp.Diff([]string{a.Store.ID()}, replicas(t, cl, h)); diff != "" {
		t.Errorf("copies recorded (-want +got):\n%s", diff)
	}
}

// A repair round against two data servers that swapped addresses judges
// neither: their inventories, verifies, pulls and confirming HEADs all
// come from the other server. Believed, A's copy (recorded, on A's
// disk) would be dropped because B's inventory lacks it, and a copy on
// B (where there is none) adopted because A's lists it. The next round,
// with the addresses as the heartbeats say, repairs as usual.
func TestRepairRecordsNothingFromASwappedPair(t *testing.T) {
	sw := &swapper{}
	cl, c := store(t, 2, meta.Options{Client: &http.Client{Transport: sw}})
	a, b := cl.Data[0], cl.Data[1]
	v, err := c.Put(bg, "k", strings.NewReader("content"))
	require.NoError(t, err)
	require.NoError(t, os.Remove(b.BlobPath(v.Hash)))
	require.NoError(t, cl.Namespace().DropReplica(v.Hash, b.Store.ID()))

	sw.swap(a, b)
	rep := round(t, cl)
	assert.Zero(t, rep.Dropped, "copies dropped")
	assert.Zero(t, rep.Adopted, "copies adopted")
	assert.Zero(t, rep.Copied, "copies made")
	if diff := cmp.Diff([]string{a.Store.ID()}, replicas(t, cl, v.Hash)); diff != "" {
		t.Errorf("copies recorded (-want +got):\n%s", diff)
	}
	assert.True(t, a.Intact(v.Hash))
	assert.False(t, b.Has(v.Hash))

	sw.unswap()
	rep = round(t, cl)
	assert.Equal(t, 1, rep.Copied, "copies made once the addresses are right")
	assert.ElementsMatch(t, []string{a.Store.ID(), b.Store.ID()}, replicas(t, cl, v.Hash))
	assert.True(t, b.Intact(v.Hash))
}

// Garbage collection acts on no inventory another data server answered:
// A's garbage, listed under B's ID, would be deleted by a DELETE meant
// for B, with the stamp of A's copy. It waits for a collection that
// sees each server at its own address.
func TestGCActsOnNoInventoryFromASwappedPair(t *testing.T) {
	sw := &swapper{}
	cl, _ := store(t, 2, meta.Options{Client: &http.Client{Transport: sw}})
	a, b := cl.Data[0], cl.Data[1]
	g := put(t, a, "an upload never committed")
	collect := func() meta.GCReport {
		rep := gc(t, cl)
		cl.Clock.Add(2 * time.Hour) // past GCGrace
		cl.Beat()
		return rep
	}

	sw.swap(a, b)
	collect()
	rep := collect()
	assert.Zero(t, rep.Copies, "copies deleted")
	assert.True(t, a.Has(g), "A's garbage, deleted as B's")

	sw.unswap()
	collect()
	rep = collect()
	assert.Equal(t, 1, rep.Copies, "copies deleted once the addresses are right")
	assert.False(t, a.Has(g))
}

// recorder is a transport that notes, for every request, the host it
// went to and the server it named (meta.ServerIDHeader).
type recorder struct {
	mu    sync.Mutex
	named map[string][]string // host: the IDs its requests named
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	if r.named == nil {
		r.named = map[string][]string{}
	}
	r.named[req.URL.Host] = append(r.named[req.URL.Host], req.Header.Get(meta.ServerIDHeader))
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// Every request of the metadata server to a data server names the server
// it is for, so that another one at that address refuses it before acting
// (dataserver's TestARequestForAnotherServerIsRefused): a commit's
// confirmation, a repair round's inventories, and GC's inventories and
// DELETEs.
func TestEveryRequestNamesItsServer(t *testing.T) {
	rec := &recorder{}
	cl, c := store(t, 2, meta.Options{Client: &http.Client{Transport: rec}})
	_, err := c.Put(bg, "k", strings.NewReader("content"))
	require.NoError(t, err)
	round(t, cl)
	_, err = cl.Meta().GC(bg)
	require.NoError(t, err)

	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, d := range cl.Data {
		host := strings.TrimPrefix(d.URL(), "http://")
		require.NotEmpty(t, rec.named[host], "no request went to %s", host)
		for _, id := range rec.named[host] {
			assert.Equal(t, d.Store.ID(), id, "a request to %s", host)
		}
	}
}
