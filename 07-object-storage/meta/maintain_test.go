package meta_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/meta"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

var bg = context.Background()

// store is a cluster with R=2, suspect after 10s and dead 30s later, and
// a client without caches (so that every read reaches the data servers).
func store(t *testing.T, n int, opt meta.Options) (*storetest.Cluster, *client.Client) {
	t.Helper()
	opt.Timeout, opt.Grace = 10*time.Second, 30*time.Second
	cl := storetest.New(t, n, opt)
	c := client.New(client.Options{MetaURL: cl.MetaURL, TempDir: t.TempDir(), Now: cl.Clock.Now, Log: storetest.Quiet, MetaCacheEntries: -1, DataCacheBytes: 1})
	return cl, c
}

func putN(t *testing.T, c *client.Client, n int) []meta.Version {
	t.Helper()
	var vs []meta.Version
	for i := range n {
		v, err := c.Put(bg, fmt.Sprintf("obj-%d", i), strings.NewReader(fmt.Sprintf("content %d", i)))
		require.NoError(t, err)
		vs = append(vs, v)
	}
	return vs
}

// intact returns the running servers holding an intact, recorded copy of h.
func intact(t *testing.T, cl *storetest.Cluster, h blob.Hash) []string {
	t.Helper()
	ids, err := cl.Namespace().Replicas(h)
	require.NoError(t, err)
	var good []string
	for _, id := range ids {
		if d := cl.ByID(id); d != nil && !d.Down && d.Intact(h) {
			good = append(good, id)
		}
	}
	return good
}

func onDisk(cl *storetest.Cluster, h blob.Hash) (n int) {
	for _, d := range cl.Data {
		if d.Has(h) {
			n++
		}
	}
	return n
}

// content reads key's newest version through c, whole.
func content(t *testing.T, c *client.Client, key string) string {
	t.Helper()
	got, err := c.Get(bg, key, 0)
	require.NoError(t, err)
	defer got.Close()
	b, err := io.ReadAll(got)
	require.NoError(t, err)
	return string(b)
}

func round(t *testing.T, cl *storetest.Cluster) meta.RepairReport {
	t.Helper()
	rep, err := cl.Meta().RepairRound(bg)
	require.NoError(t, err)
	return rep
}

// A killed data server's blobs are copied elsewhere once it is dead, not
// while it is only suspect; reads never needed it.
func TestKilledServerBlobsRestoredToR(t *testing.T) {
	cl, c := store(t, 4, meta.Options{})
	vs := putN(t, c, 20)
	cl.Kill(0)
	victim := cl.Data[0].Store.ID()
	var lost []meta.Version
	for _, v := range vs {
		ids, _ := cl.Namespace().Replicas(v.Hash)
		for _, id := range ids {
			if id == victim {
				lost = append(lost, v)
			}
		}
	}
	require.NotEmpty(t, lost, "the ring put nothing on the killed server")

	cl.Clock.Add(15 * time.Second)
	cl.Beat()
	assert.Equal(t, meta.Suspect, cl.Meta().Registry().State(victim))
	rep := round(t, cl)
	assert.Zero(t, rep.Copied, "a suspect's copies still count")

	cl.Clock.Add(30 * time.Second)
	cl.Beat()
	assert.Equal(t, meta.Dead, cl.Meta().Registry().State(victim))
	rep = round(t, cl)
	assert.Equal(t, len(lost), rep.UnderReplicated)
	assert.Equal(t, len(lost), rep.Copied)
	for _, v := range vs {
		good := intact(t, cl, v.Hash)
		assert.Len(t, good, 2, "%s: intact copies on running servers", v.Key)
		assert.NotContains(t, good, victim)
	}
	assert.Zero(t, round(t, cl).Copied, "a second round has nothing to do")
}

// When the dead server comes back, its copies are surplus: they are
// removed after the ring's preferred R are verified, and each blob is on
// exactly R servers again.
func TestReturningServerIsReconciled(t *testing.T) {
	cl, c := store(t, 4, meta.Options{})
	vs := putN(t, c, 20)
	cl.Kill(0)
	cl.Clock.Add(45 * time.Second)
	cl.Beat()
	round(t, cl)

	cl.Restart(0)
	rep := round(t, cl)
	assert.Positive(t, rep.Trimmed)
	for _, v := range vs {
		assert.Len(t, intact(t, cl, v.Hash), 2, v.Key)
		assert.Equal(t, 2, onDisk(cl, v.Hash), "%s: copies on disk", v.Key)
	}
}

// Surplus copies are removed only after the copies that stay are
// verified: here both copies the ring prefers are damaged, so the third,
// the only good one, must stay.
func TestNeverRemovesTheLastGoodCopy(t *testing.T) {
	cl, c := store(t, 3, meta.Options{})
	v, err := c.Put(bg, "k", strings.NewReader("precious"))
	require.NoError(t, err)
	var third *storetest.DataNode
	for _, d := range cl.Data {
		if !d.Has(v.Hash) {
			third = d
		}
	}
	data := []byte("precious")
	_, err = third.Store.Put(v.Hash, bytes.NewReader(data))
	require.NoError(t, err)
	require.NoError(t, cl.Namespace().AddReplicas(v.Hash, []string{third.Store.ID()}))
	for _, d := range cl.Data {
		if d != third {
			d.Corrupt(t, v.Hash)
		}
	}
	rep := round(t, cl)
	assert.Zero(t, rep.Trimmed)
	assert.True(t, third.Intact(v.Hash), "the last good copy was removed")
	// The other damaged copy still counts until a scrub finds it.
	for _, d := range cl.Data {
		_, err := d.Server.Scrub(bg)
		require.NoError(t, err)
	}
	cl.Meta().WaitReports()
	round(t, cl)
	assert.Len(t, intact(t, cl, v.Hash), 2, "repaired from the good copy")
	assert.Equal(t, string(data), content(t, c, "k"))
}

// A copy made from a bad source is refused by the target (it checks the
// hash as it stores), never recorded, and the bad source is forgotten.
func TestBadSourceIsNotCopied(t *testing.T) {
	cl, c := store(t, 3, meta.Options{})
	v, err := c.Put(bg, "k", strings.NewReader("only one good copy, then none"))
	require.NoError(t, err)
	ids, _ := cl.Namespace().Replicas(v.Hash)
	require.Len(t, ids, 2)
	bad, gone := cl.ByID(ids[0]), cl.ByID(ids[1])
	bad.Corrupt(t, v.Hash)
	for i, d := range cl.Data {
		if d == gone {
			cl.Kill(i)
		}
	}
	cl.Clock.Add(45 * time.Second)
	cl.Beat()
	rep := round(t, cl)
	assert.Equal(t, 1, rep.Dropped, "the bad source is forgotten")
	assert.Zero(t, rep.Copied)
	for _, d := range cl.Data {
		if d != bad && d != gone {
			assert.False(t, d.Has(v.Hash), "a bad copy was stored")
		}
	}
	ids, _ = cl.Namespace().Replicas(v.Hash)
	assert.Equal(t, []string{gone.Store.ID()}, ids, "only the dead server's copy is left on record")
}

// The scrubber finds a flipped byte, sets the copy aside and reports it;
// the next repair round copies the blob again from the good replica.
func TestScrubbedBlobIsRepaired(t *testing.T) {
	cl, c := store(t, 3, meta.Options{})
	v, err := c.Put(bg, "k", strings.NewReader("bit rot"))
	require.NoError(t, err)
	ids, _ := cl.Namespace().Replicas(v.Hash)
	d := cl.ByID(ids[0])
	d.Corrupt(t, v.Hash)

	rep, err := d.Server.Scrub(bg)
	require.NoError(t, err)
	cl.Meta().WaitReports()
	assert.Equal(t, []blob.Hash{v.Hash}, rep.Damaged)
	assert.Zero(t, rep.Unsent)
	assert.False(t, d.Has(v.Hash), "a damaged copy is not served")
	q, err := d.Store.Quarantined()
	require.NoError(t, err)
	assert.Equal(t, []blob.Hash{v.Hash}, q, "the damaged copy is kept aside")
	assert.Equal(t, []string{ids[1]}, intact(t, cl, v.Hash), "the report dropped the bad copy")

	r := round(t, cl)
	assert.Equal(t, 1, r.Copied)
	assert.Len(t, intact(t, cl, v.Hash), 2)
}

// A reader that finds a bad copy repairs it itself (client read repair);
// the metadata server's round then has nothing left to do.
func TestRepairOnReadLeavesNothingToRepair(t *testing.T) {
	cl, c := store(t, 3, meta.Options{})
	v, err := c.Put(bg, "k", strings.NewReader("read me"))
	require.NoError(t, err)
	ids, _ := cl.Namespace().Replicas(v.Hash)
	cl.ByID(ids[0]).Corrupt(t, v.Hash)
	o, err := c.Get(bg, "k", 0)
	require.NoError(t, err)
	o.Close()
	cl.Meta().WaitReports() // the read's report is checked after its answer
	assert.Len(t, intact(t, cl, v.Hash), 2, "read repair")
	rep := round(t, cl)
	assert.Zero(t, rep.UnderReplicated)
	assert.Zero(t, rep.Copied)
}

// Repair copies move no more than RepairConcurrency blobs at once; with
// a concurrency of 1 a round still restores everything.
func TestRepairWithConcurrencyOne(t *testing.T) {
	cl, c := store(t, 4, meta.Options{RepairConcurrency: 1})
	vs := putN(t, c, 8)
	cl.Kill(1)
	cl.Clock.Add(45 * time.Second)
	cl.Beat()
	round(t, cl)
	for _, v := range vs {
		assert.Len(t, intact(t, cl, v.Hash), 2)
	}
}

func gc(t *testing.T, cl *storetest.Cluster) meta.GCReport {
	t.Helper()
	rep, err := cl.Meta().GC(bg)
	require.NoError(t, err)
	return rep
}

// replacedPastGrace puts "old" then "new" under key k on a store that
// keeps one version, and lets a GC and GCGrace (an hour) go by: the next
// GC finds old's blob garbage. It returns old's version.
func replacedPastGrace(t *testing.T, cl *storetest.Cluster, c *client.Client) meta.Version {
	t.Helper()
	old, err := c.Put(bg, "k", strings.NewReader("old"))
	require.NoError(t, err)
	_, err = c.Put(bg, "k", strings.NewReader("new"))
	require.NoError(t, err)
	gc(t, cl)
	cl.Clock.Add(2 * time.Hour)
	cl.Beat()
	return old
}

// GC keeps the newest KeepVersions versions; the blobs of older ones
// stay through the grace period and are then deleted from every data
// server. A blob still referenced (here by another key) is never deleted.
func TestGCKeepsNVersionsAndDeletesTheirBlobs(t *testing.T) {
	cl, c := store(t, 3, meta.Options{KeepVersions: 2, GCGrace: time.Hour})
	var vs []meta.Version
	for i := range 5 {
		v, err := c.Put(bg, "k", strings.NewReader(fmt.Sprintf("v%d", i+1)))
		require.NoError(t, err)
		vs = append(vs, v)
	}
	_, err := c.Put(bg, "other", strings.NewReader("v1")) // shares version 1's blob
	require.NoError(t, err)

	rep := gc(t, cl)
	assert.Equal(t, 3, rep.Pruned)
	assert.Zero(t, rep.Deleted, "within the grace period")
	left, err := c.Versions(bg, "k")
	require.NoError(t, err)
	assert.Equal(t, []uint64{4, 5}, []uint64{left[0].Number, left[1].Number})
	_, err = c.Get(bg, "k", 2)
	assert.ErrorIs(t, err, meta.ErrNotFound, "a pruned version is gone")
	assert.Equal(t, 2, onDisk(cl, vs[1].Hash), "its blob waits out the grace period")

	cl.Clock.Add(61 * time.Minute)
	cl.Beat()
	rep = gc(t, cl)
	assert.Equal(t, 2, rep.Deleted, "versions 2 and 3's blobs")
	assert.Equal(t, 4, rep.Copies)
	for _, v := range vs[1:3] {
		assert.Zero(t, onDisk(cl, v.Hash), "unreferenced blob still on a data server")
	}
	for _, v := range []meta.Version{vs[0], vs[3], vs[4]} {
		assert.Len(t, intact(t, cl, v.Hash), 2, "a referenced blob was touched")
	}
	got, err := c.Get(bg, "other", 0)
	require.NoError(t, err)
	got.Close()
}

// steps writes key's history: "delete" deletes it, anything else is put
// as its content.
func steps(t *testing.T, c *client.Client, key string, history ...string) {
	t.Helper()
	for _, step := range history {
		var err error
		if step == "delete" {
			_, err = c.Delete(bg, key)
		} else {
			_, err = c.Put(bg, key, strings.NewReader(step))
		}
		require.NoError(t, err)
	}
}

// Delete markers follow S3: a marker stays while it hides a kept
// version, and the newest record always stays.
func TestGCDeleteMarkers(t *testing.T) {
	cl, c := store(t, 2, meta.Options{KeepVersions: 1})
	steps(t, c, "k", "put a", "delete", "put b", "delete")
	gc(t, cl)
	vs, err := c.Versions(bg, "k")
	require.NoError(t, err)
	var got []string
	for _, v := range vs {
		got = append(got, fmt.Sprintf("%d deleted=%v", v.Number, v.Deleted))
	}
	assert.Equal(t, []string{"3 deleted=false", "4 deleted=true"}, got)
	_, err = c.Get(bg, "k", 0)
	assert.ErrorIs(t, err, meta.ErrNotFound, "deleted stays deleted")
}

// A blob uploaded but not committed is garbage only after the grace
// period, and not while a placement for it is recent: that is an upload
// in flight.
func TestGCGraceProtectsUploadsInFlight(t *testing.T) {
	cl, c := store(t, 2, meta.Options{GCGrace: time.Hour})
	data := []byte("uploaded, commit to follow")
	h := blob.Sum(data)
	for _, d := range cl.Data {
		_, err := d.Store.Put(h, bytes.NewReader(data))
		require.NoError(t, err)
	}
	assert.Zero(t, gc(t, cl).Deleted)
	cl.Clock.Add(50 * time.Minute)
	cl.Beat()
	// The client asks where to write: a placement, then (later) a commit.
	body, _ := json.Marshal(meta.WriteRequest{Key: "late", Hash: h, Size: int64(len(data))})
	resp, err := http.Post(cl.MetaURL+"/writes", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	cl.Clock.Add(20 * time.Minute)
	cl.Beat()
	assert.Zero(t, gc(t, cl).Deleted, "placed 20 minutes ago: in flight")
	assert.Equal(t, 2, onDisk(cl, h))

	cl.Clock.Add(2 * time.Hour)
	cl.Beat()
	rep := gc(t, cl)
	assert.Equal(t, 1, rep.Deleted)
	assert.Zero(t, onDisk(cl, h))
	_ = c
}

// Abandoned temporary files are swept; a write in progress is not.
func TestSweepTemp(t *testing.T) {
	cl, _ := store(t, 1, meta.Options{})
	d := cl.Data[0]
	old := d.Dir + "/tmp/put-abandoned"
	require.NoError(t, writeAged(old, 2*time.Hour))
	fresh := d.Dir + "/tmp/put-recent"
	require.NoError(t, writeAged(fresh, time.Minute))
	n, err := d.Server.SweepTemp()
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.NoFileExists(t, old)
	assert.FileExists(t, fresh)
}

// A write placed while GC runs is protected like any other: GC looks at
// recent placements only once it holds the lock that placements take, so
// a placement that answers "these servers have it" is never followed by
// the deletion of those copies. Here the placement arrives at the worst
// moment, just before GC takes its lock.
func TestGCSparesABlobPlacedWhileItRuns(t *testing.T) {
	cl, c := store(t, 2, meta.Options{KeepVersions: 1, GCGrace: time.Hour})
	data := "same content"
	_, err := c.Put(bg, "k", strings.NewReader(data))
	require.NoError(t, err)
	_, err = c.Put(bg, "k", strings.NewReader("newer"))
	require.NoError(t, err)
	h := blob.Sum([]byte(data))
	require.Zero(t, gc(t, cl).Deleted, "version 1 pruned, its blob marked")
	cl.Clock.Add(2 * time.Hour)
	cl.Beat()

	var placement meta.Placement
	var placeErr error
	meta.SetGCHook(cl.Meta(), func() {
		placement, placeErr = postJSON[meta.Placement](cl.MetaURL+"/writes", meta.WriteRequest{Key: "k2", Hash: h, Size: int64(len(data))})
	})
	rep := gc(t, cl)
	require.NoError(t, placeErr)
	assert.Len(t, placement.Have, 2, "the placement found both copies")
	assert.Zero(t, rep.Deleted, "a blob placed for a write a moment ago was deleted")
	assert.Equal(t, 2, onDisk(cl, h))

	// The client, deduplicating, uploads nothing and commits.
	body, _ := json.Marshal(meta.CommitRequest{Key: "k2", Hash: h, Size: int64(len(data)), Replicas: placement.Have})
	resp, err := http.Post(cl.MetaURL+"/commits", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusCreated, resp.StatusCode, "the commit of the deduplicated write")
}

// postJSON posts v and decodes the answer.
func postJSON[T any](url string, v any) (T, error) {
	var out T
	body, err := json.Marshal(v)
	if err != nil {
		return out, err
	}
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("%s", resp.Status)
	}
	return out, json.NewDecoder(resp.Body).Decode(&out)
}

// A pull or verify's deadline grows with the blob's size: a fixed one
// would fail every round's copy of a blob too large to move in it.
func TestTransferTimeout(t *testing.T) {
	for _, tc := range []struct {
		size, rate int64
		want       time.Duration
	}{
		{0, 20 << 20, 30 * time.Second},
		{1 << 30, 50 << 20, 30*time.Second + 40960*time.Millisecond},  // 1 GiB at the default -copy-rate
		{1 << 30, 20 << 20, 30*time.Second + 102400*time.Millisecond}, // and -scrub-rate
		{1 << 40, 20 << 20, 30*time.Second + 104857600*time.Millisecond},
		{1 << 30, 0, 30 * time.Second},
		// Past what a Duration holds (292 years): the longest one, not
		// a conversion's overflow (negative on amd64: a deadline already
		// passed, every round's pull of the blob failed at once).
		{5 << 30, 1, math.MaxInt64}, // -scrub-rate 1 is a valid command line
		{math.MaxInt64, 20 << 20, math.MaxInt64},
	} {
		assert.Equal(t, tc.want, meta.TransferTimeout(tc.size, tc.rate), "%d bytes at %d bytes/s", tc.size, tc.rate)
	}
}

// jobWatch is a transport that records, for every pull and verify the
// metadata server sends, how long its deadline gives it, and how many
// ran on one data server at once.
type jobWatch struct {
	next     http.RoundTripper
	mu       sync.Mutex
	left     map[string][]time.Duration // "/pull" or "/verify" -> time left at the start
	inflight map[string]int             // host -> jobs running
	most     int                        // most jobs on one host at once
}

func (j *jobWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	kind := ""
	switch {
	case req.URL.Path == "/pull":
		kind = "/pull"
	case strings.HasSuffix(req.URL.Path, "/verify"):
		kind = "/verify"
	default:
		return j.next.RoundTrip(req)
	}
	deadline, _ := req.Context().Deadline()
	j.mu.Lock()
	j.left[kind] = append(j.left[kind], time.Until(deadline))
	j.inflight[req.URL.Host]++
	j.most = max(j.most, j.inflight[req.URL.Host])
	j.mu.Unlock()
	defer func() {
		j.mu.Lock()
		j.inflight[req.URL.Host]--
		j.mu.Unlock()
	}()
	return j.next.RoundTrip(req)
}

// A repair pull and a keeper's verify get the time their blob needs at
// Options.RepairRate (here 100 bytes a second, so 6,000 bytes need 60 s,
// given 30 s + 2 × 60 s), not a fixed 30 s; and no data server runs two
// of them at once.
func TestRepairCallsGetTimeForTheirSize(t *testing.T) {
	watch := &jobWatch{next: http.DefaultTransport, left: map[string][]time.Duration{}, inflight: map[string]int{}}
	cl, c := store(t, 3, meta.Options{RepairRate: 100, Client: &http.Client{Transport: watch}})
	v, err := c.Put(bg, "big", strings.NewReader(strings.Repeat("x", 6000)))
	require.NoError(t, err)
	ids, _ := cl.Namespace().Replicas(v.Hash)
	var victim int
	for i, d := range cl.Data {
		if d.Store.ID() == ids[0] {
			victim = i
		}
	}
	cl.Kill(victim)
	cl.Clock.Add(45 * time.Second)
	cl.Beat()
	require.Equal(t, 1, round(t, cl).Copied)
	cl.Restart(victim)
	require.Equal(t, 1, round(t, cl).Trimmed, "a surplus copy, after the keepers' verify")

	watch.mu.Lock()
	defer watch.mu.Unlock()
	for _, kind := range []string{"/pull", "/verify"} {
		require.NotEmpty(t, watch.left[kind], "no %s sent", kind)
		for _, left := range watch.left[kind] {
			assert.Greater(t, left, 140*time.Second, "%s: deadline too short for 6,000 bytes at 100 bytes/s", kind)
			assert.LessOrEqual(t, left, 150*time.Second, kind)
		}
	}
	assert.Equal(t, 1, watch.most, "jobs on one data server at once")
}

// gate holds every request whose path ends in path ("/pull",
// "/verify") at the transport until release is closed, and says when
// one arrives.
type gate struct {
	next    http.RoundTripper
	path    string
	arrived chan string
	release chan struct{}
}

func (g *gate) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, g.path) {
		g.arrived <- req.URL.Host
		<-g.release
	}
	return g.next.RoundTrip(req)
}

// goroutineID is the calling goroutine's number, as a stack trace
// shows it ("goroutine 42 [running]:").
func goroutineID() string {
	buf := make([]byte, 64)
	return strings.Fields(string(buf[:runtime.Stack(buf, false)]))[1]
}

// blockedInOneJob reports whether goroutine id is parked on a mutex
// inside oneJob. A goroutine that is about to block cannot say so
// itself; its stack trace does, once it has blocked.
func blockedInOneJob(id string) bool {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.HasPrefix(g, "goroutine "+id+" [sync.Mutex.Lock") {
			return strings.Contains(g, "meta.(*Server).oneJob(")
		}
	}
	return false
}

// Two blobs need a copy on the same data server, and the round may
// repair four blobs at once: the second pull waits for the first, so
// that they do not share the server's token bucket (and each need twice
// the time its deadline allows).
func TestRepairGivesADataServerOnePullAtATime(t *testing.T) {
	g := &gate{next: http.DefaultTransport, path: "/pull", arrived: make(chan string, 4), release: make(chan struct{})}
	cl, c := store(t, 2, meta.Options{Client: &http.Client{Transport: g}})
	putN(t, c, 2) // on ds-00 and ds-01
	target := cl.AddData()
	cl.Kill(0)
	cl.Clock.Add(45 * time.Second)
	cl.Beat()
	rep := oneJobAtATime(t, cl, g, target)
	assert.Equal(t, 2, rep.Copied)
}

// A verify is a job too: it re-hashes the copy through the server's
// token bucket. Two blobs whose copies on one data server are not on
// record are each verified there before they are adopted: the second
// verify waits for the first.
func TestRepairGivesADataServerOneVerifyAtATime(t *testing.T) {
	g := &gate{next: http.DefaultTransport, path: "/verify", arrived: make(chan string, 4), release: make(chan struct{})}
	cl, c := store(t, 2, meta.Options{Client: &http.Client{Transport: g}})
	target := cl.Data[1]
	for _, v := range putN(t, c, 2) { // on ds-00 and ds-01
		require.NoError(t, cl.Namespace().DropReplica(v.Hash, target.Store.ID()))
	}
	rep := oneJobAtATime(t, cl, g, target)
	assert.Equal(t, 2, rep.Adopted)
}

// oneJobAtATime runs a repair round in which two blobs each send g's
// job (a pull or a verify) to target, and checks that the second waits
// for the first; it returns the round's report.
//
// The first job is held at the transport. The second blob's job must
// then find the server busy (the wait hook runs in its goroutine) and
// block in oneJob; its request must not reach the transport. Both
// outcomes are waited for, so neither depends on timing: a oneJob that
// takes no lock sends the second request at once; one that notices the
// busy server but goes ahead never blocks, and its request arrives
// instead.
func oneJobAtATime(t *testing.T, cl *storetest.Cluster, g *gate, target *storetest.DataNode) meta.RepairReport {
	t.Helper()
	release := sync.OnceFunc(func() { close(g.release) })
	defer release()
	type waiter struct{ addr, goroutine string }
	waited := make(chan waiter, 4)
	meta.SetJobWaitHook(cl.Meta(), func(addr string) { waited <- waiter{addr, goroutineID()} })
	done := make(chan meta.RepairReport, 1)
	go func() {
		rep, _ := cl.Meta().RepairRound(bg)
		done <- rep
	}()
	// Whatever the checks find, the first job is then let through and the
	// round is waited for, so that nothing outlives the test.
	func() {
		guard := time.After(10 * time.Second)
		select {
		case host := <-g.arrived:
			assert.Equal(t, strings.TrimPrefix(target.URL(), "http://"), host)
		case <-guard:
			t.Errorf("no %s", g.path)
			return
		}
		var w waiter
		select {
		case <-g.arrived:
			t.Errorf("a second %s to the same data server while the first runs", g.path)
			return
		case w = <-waited:
			assert.Equal(t, target.URL(), w.addr)
		case <-guard:
			t.Errorf("the second blob's %s neither waited nor ran", g.path)
			return
		}
		blocked := make(chan struct{})
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for !blockedInOneJob(w.goroutine) {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
			close(blocked)
		}()
		select {
		case <-g.arrived:
			t.Errorf("the second %s found the data server busy but went ahead", g.path)
		case <-blocked:
		case <-guard:
			t.Errorf("the second blob's job neither blocked in oneJob nor sent its %s", g.path)
		}
	}()
	release()
	return <-done
}

// A commit that lands after GC found a blob unreferenced, but before GC
// forgets it, saves it: ForgetBlobs checks references again in the
// transaction that forgets. (A commit records no placement: only a
// placement does.)
func TestGCSparesABlobCommittedWhileItRuns(t *testing.T) {
	cl, c := store(t, 2, meta.Options{KeepVersions: 1, GCGrace: time.Hour})
	data := "committed in the nick of time"
	v1, err := c.Put(bg, "k", strings.NewReader(data))
	require.NoError(t, err)
	_, err = c.Put(bg, "k", strings.NewReader("newer"))
	require.NoError(t, err)
	require.Zero(t, gc(t, cl).Deleted, "version 1 pruned, its blob marked")
	cl.Clock.Add(2 * time.Hour)
	cl.Beat()

	var status int
	meta.SetGCHook(cl.Meta(), func() {
		body, _ := json.Marshal(meta.CommitRequest{Key: "k2", Hash: v1.Hash, Size: v1.Size, Replicas: v1.Replicas})
		resp, err := http.Post(cl.MetaURL+"/commits", "application/json", bytes.NewReader(body))
		if err == nil {
			resp.Body.Close()
			status = resp.StatusCode
		}
	})
	rep := gc(t, cl)
	require.Equal(t, http.StatusCreated, status, "the commit during GC")
	assert.Zero(t, rep.Deleted, "a blob committed a moment ago was deleted")
	assert.Equal(t, data, content(t, c, "k2"))
}

// deleteWatch records, for every DELETE the metadata server sends a data
// server, whether GC held its lock then.
type deleteWatch struct {
	next   http.RoundTripper
	server func() *meta.Server
	mu     sync.Mutex
	held   []bool
}

func (d *deleteWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodDelete {
		d.mu.Lock()
		d.held = append(d.held, meta.GCHeld(d.server()))
		d.mu.Unlock()
	}
	return d.next.RoundTrip(req)
}

// GC deletes copies only while it holds the lock that placements,
// commits and replica updates take: none of them can confirm a copy that
// is being deleted.
func TestGCDeletesUnderItsLock(t *testing.T) {
	var cl *storetest.Cluster
	watch := &deleteWatch{next: http.DefaultTransport, server: func() *meta.Server { return cl.Meta() }}
	cl, c := store(t, 2, meta.Options{KeepVersions: 1, GCGrace: time.Hour, Client: &http.Client{Transport: watch}})
	replacedPastGrace(t, cl, c)
	require.Equal(t, 2, gc(t, cl).Copies)
	watch.mu.Lock()
	defer watch.mu.Unlock()
	assert.Equal(t, []bool{true, true}, watch.held, "GC's lock held during each DELETE")
}

// A copy that a server holds but the record lacks (a server back after
// its copy was forgotten) is adopted only if it verifies: an intact one
// is adopted, a damaged one is set aside and never counted.
func TestRepairAdoptsOnlyIntactCopies(t *testing.T) {
	for _, damaged := range []bool{false, true} {
		t.Run(fmt.Sprintf("damaged=%v", damaged), func(t *testing.T) {
			cl, c := store(t, 3, meta.Options{})
			data := "found on a server, not on record"
			v, err := c.Put(bg, "k", strings.NewReader(data))
			require.NoError(t, err)
			var stray *storetest.DataNode
			for _, d := range cl.Data {
				if !d.Has(v.Hash) {
					stray = d
				}
			}
			_, err = stray.Store.Put(v.Hash, strings.NewReader(data))
			require.NoError(t, err)
			if damaged {
				stray.Corrupt(t, v.Hash)
			}
			rep := round(t, cl)
			if damaged {
				assert.Zero(t, rep.Adopted, "a damaged copy was adopted")
				assert.False(t, stray.Has(v.Hash), "the damaged copy is still served")
				ids, _ := cl.Namespace().Replicas(v.Hash)
				assert.NotContains(t, ids, stray.Store.ID())
			} else {
				assert.Equal(t, 1, rep.Adopted)
				assert.Equal(t, 1, rep.Trimmed, "three copies, one too many")
			}
			assert.Len(t, intact(t, cl, v.Hash), 2)
		})
	}
}

// hideOnce makes one data server's inventory miss one blob once, as when
// the inventory is taken while the blob is being replaced (read repair
// sets the bad copy aside, then stores the good one).
type hideOnce struct {
	next http.RoundTripper
	node func() *storetest.DataNode
	h    blob.Hash
	once sync.Once
}

func (x *hideOnce) RoundTrip(req *http.Request) (*http.Response, error) {
	d := x.node()
	if req.Method != http.MethodGet || req.URL.Path != "/blobs" || d == nil || req.URL.Host != strings.TrimPrefix(d.URL(), "http://") {
		return x.next.RoundTrip(req)
	}
	var resp *http.Response
	var err error
	hidden := false
	x.once.Do(func() {
		hidden = true
		path := d.BlobPath(x.h)
		if os.Rename(path, path+".away") != nil {
			return
		}
		defer os.Rename(path+".away", path)
		resp, err = x.next.RoundTrip(req)
		if err == nil { // read the inventory while the blob is away
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			resp.Body, err = io.NopCloser(bytes.NewReader(body)), rerr
		}
	})
	if !hidden {
		return x.next.RoundTrip(req)
	}
	return resp, err
}

// A recorded copy missing from a server's inventory is forgotten only
// after a HEAD confirms it is gone: an inventory is a snapshot, and the
// copy may be back by the time the round looks at it.
func TestRepairDropsACopyOnlyIfAHeadConfirmsItGone(t *testing.T) {
	var cl *storetest.Cluster
	var target *storetest.DataNode
	x := &hideOnce{next: http.DefaultTransport, node: func() *storetest.DataNode { return target }}
	cl, c := store(t, 3, meta.Options{Client: &http.Client{Transport: x}})
	v, err := c.Put(bg, "k", strings.NewReader("briefly out of the inventory"))
	require.NoError(t, err)
	ids, _ := cl.Namespace().Replicas(v.Hash)
	x.h, target = v.Hash, cl.ByID(ids[0])
	rep := round(t, cl)
	assert.Zero(t, rep.Dropped, "a copy still on its server was forgotten")
	assert.Zero(t, rep.Copied)
	assert.Len(t, intact(t, cl, v.Hash), 2)
}

// Pruning keeps a delete marker that hides a kept version: put, put,
// delete, put with two versions kept keeps version 2, so the marker
// between it and version 4 stays, and only version 1 goes.
func TestGCKeepsAMarkerThatHidesAKeptVersion(t *testing.T) {
	cl, c := store(t, 2, meta.Options{KeepVersions: 2})
	steps(t, c, "k", "put a", "put b", "delete", "put c")
	assert.Equal(t, 1, gc(t, cl).Pruned)
	vs, err := c.Versions(bg, "k")
	require.NoError(t, err)
	var got []string
	for _, v := range vs {
		got = append(got, fmt.Sprintf("%d deleted=%v", v.Number, v.Deleted))
	}
	assert.Equal(t, []string{"2 deleted=false", "3 deleted=true", "4 deleted=false"}, got)
}

// holdWatch counts the DELETEs GC sends in each hold of its lock (the GC
// hook runs before each), and records the deadline of every HEAD.
type holdWatch struct {
	next  http.RoundTripper
	mu    sync.Mutex
	holds int
	now   int // DELETEs in the current hold
	most  int
	heads []time.Duration // time left; -1: no deadline
	dels  []time.Duration // the same, of each DELETE
}

// timeLeft is the time req has left before its deadline, -1 if it has none.
func timeLeft(req *http.Request) time.Duration {
	if d, ok := req.Context().Deadline(); ok {
		return time.Until(d)
	}
	return -1
}

func (h *holdWatch) hook() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.holds++
	h.now = 0
}

func (h *holdWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	h.mu.Lock()
	switch req.Method {
	case http.MethodDelete:
		h.now++
		h.most = max(h.most, h.now)
		h.dels = append(h.dels, timeLeft(req))
	case http.MethodHead:
		h.heads = append(h.heads, timeLeft(req))
	}
	h.mu.Unlock()
	return h.next.RoundTrip(req)
}

// GC holds its lock, which every write waits for, for a bounded batch of
// blobs at a time: here 5 blobs in batches of 2, so 3 holds of at most
// 2 blobs × 2 copies.
func TestGCDeletesInBatches(t *testing.T) {
	watch := &holdWatch{next: http.DefaultTransport}
	cl, c := store(t, 2, meta.Options{KeepVersions: 1, GCGrace: time.Hour, Client: &http.Client{Transport: watch}})
	for i := range 6 {
		_, err := c.Put(bg, "k", strings.NewReader(fmt.Sprintf("version %d", i+1)))
		require.NoError(t, err)
	}
	require.Equal(t, 5, gc(t, cl).Pruned)
	cl.Clock.Add(2 * time.Hour)
	cl.Beat()
	meta.SetGCBatch(cl.Meta(), 2)
	meta.SetGCHook(cl.Meta(), watch.hook)
	rep := gc(t, cl)
	assert.Equal(t, 5, rep.Deleted)
	assert.Equal(t, 10, rep.Copies)
	watch.mu.Lock()
	defer watch.mu.Unlock()
	assert.Equal(t, 3, watch.holds, "holds of GC's lock")
	assert.Equal(t, 4, watch.most, "DELETEs in one hold")
	// Each DELETE is sent under the lock: it has a deadline of its own,
	// so that one data server that hangs holds writes up for 5 s.
	require.Len(t, watch.dels, 10, "one DELETE per copy")
	for _, left := range watch.dels {
		assert.Positive(t, left, "a DELETE without a deadline")
		assert.LessOrEqual(t, left, 5*time.Second)
	}
}

// The batch the chapter gives, 64 blobs, is the default: 65 blobs of
// garbage take two holds of GC's lock, the first with 64 blobs' DELETEs.
func TestGCHoldsItsLockFor64BlobsAtATime(t *testing.T) {
	watch := &holdWatch{next: http.DefaultTransport}
	cl, c := store(t, 2, meta.Options{KeepVersions: 1, GCGrace: time.Hour, Client: &http.Client{Transport: watch}})
	for i := range 66 {
		_, err := c.Put(bg, "k", strings.NewReader(fmt.Sprintf("version %d", i+1)))
		require.NoError(t, err)
	}
	require.Equal(t, 65, gc(t, cl).Pruned)
	cl.Clock.Add(2 * time.Hour)
	cl.Beat()
	meta.SetGCHook(cl.Meta(), watch.hook)
	rep := gc(t, cl)
	assert.Equal(t, 65, rep.Deleted)
	assert.Equal(t, 130, rep.Copies)
	watch.mu.Lock()
	defer watch.mu.Unlock()
	assert.Equal(t, 2, watch.holds, "holds of GC's lock")
	assert.Equal(t, 128, watch.most, "DELETEs in one hold (64 blobs, 2 copies each)")
}

// failDeletes fails every DELETE to one data server at once, and counts
// them.
type failDeletes struct {
	next  http.RoundTripper
	host  string
	mu    sync.Mutex
	tries int
}

func (f *failDeletes) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodDelete && req.URL.Host == f.host {
		f.mu.Lock()
		f.tries++
		f.mu.Unlock()
		return nil, errors.New("this data server does not answer")
	}
	return f.next.RoundTrip(req)
}

// A data server whose DELETE fails is asked nothing more in that
// collection: one that hangs costs GC (and the writes waiting on its lock)
// one deadline, not one per copy it holds. Its copies are found again
// later, as garbage on its disk.
func TestGCSkipsADataServerThatFailedADelete(t *testing.T) {
	fail := &failDeletes{next: http.DefaultTransport}
	cl, c := store(t, 2, meta.Options{KeepVersions: 1, GCGrace: time.Hour, Client: &http.Client{Transport: fail}})
	fail.host = strings.TrimPrefix(cl.Data[0].URL(), "http://")
	for i := range 4 {
		_, err := c.Put(bg, "k", strings.NewReader(fmt.Sprintf("version %d", i+1)))
		require.NoError(t, err)
	}
	require.Equal(t, 3, gc(t, cl).Pruned)
	cl.Clock.Add(2 * time.Hour)
	cl.Beat()
	meta.SetGCBatch(cl.Meta(), 1) // the skip holds across batches too
	rep := gc(t, cl)
	assert.Equal(t, 3, rep.Deleted)
	assert.Equal(t, 3, rep.Copies, "the other server's copies")
	fail.mu.Lock()
	defer fail.mu.Unlock()
	assert.Equal(t, 1, fail.tries, "DELETEs sent to the failing server")
}

// A commit confirms its copies with HEADs while it holds GC's lock for
// reading: each has a short deadline, so one data server that hangs
// cannot stall GC, and every write queued behind it, for long.
func TestCommitConfirmsWithADeadline(t *testing.T) {
	watch := &holdWatch{next: http.DefaultTransport}
	_, c := store(t, 2, meta.Options{Client: &http.Client{Transport: watch}})
	_, err := c.Put(bg, "k", strings.NewReader("confirmed in time"))
	require.NoError(t, err)
	watch.mu.Lock()
	defer watch.mu.Unlock()
	require.Len(t, watch.heads, 2, "one HEAD per copy")
	for _, left := range watch.heads {
		assert.Positive(t, left, "a confirming HEAD without a deadline")
		assert.LessOrEqual(t, left, 5*time.Second)
	}
}

// RepairConcurrency bounds the blobs a round repairs at once. Twelve
// blobs each need a copy on one of four servers; every pull is held at
// the transport, so the round must stop taking blobs once two pulls
// (RepairConcurrency 2) are in hand, and wait.
func TestRepairConcurrencyIsAnUpperBound(t *testing.T) {
	g := &gate{next: http.DefaultTransport, path: "/pull", arrived: make(chan string, 16), release: make(chan struct{})}
	cl, c := store(t, 2, meta.Options{RepairConcurrency: 2, Client: &http.Client{Transport: g}})
	putN(t, c, 12) // on ds-00 and ds-01
	for range 4 {
		cl.AddData()
	}
	cl.Kill(0)
	cl.Clock.Add(45 * time.Second)
	cl.Beat()

	release := sync.OnceFunc(func() { close(g.release) })
	defer release()
	full := make(chan struct{}, 16)
	meta.SetRepairFullHook(cl.Meta(), func() { full <- struct{}{} })
	done := make(chan meta.RepairReport, 1)
	go func() {
		rep, _ := cl.Meta().RepairRound(bg)
		done <- rep
	}()
	guard := time.After(10 * time.Second)
	pulls := 0
wait:
	for {
		select {
		case <-g.arrived:
			pulls++
			if pulls > 2 {
				t.Error("more pulls at once than RepairConcurrency")
				break wait
			}
		case <-full:
			break wait
		case <-guard:
			t.Fatal("the round neither waited for a free slot nor started a third pull")
		}
	}
	release()
	rep := <-done
	assert.Equal(t, 12, rep.Copied)
}

// claimsPulls answers every POST /pull with 201 Created and sends nothing
// on: a target that says it copied a blob but does not hold it (a bug, or
// a disk lost a moment later).
type claimsPulls struct{ next http.RoundTripper }

func (x claimsPulls) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost || req.URL.Path != "/pull" {
		return x.next.RoundTrip(req)
	}
	if req.Body != nil {
		req.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusCreated, Status: "201 Created", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: http.NoBody, Request: req}, nil
}

// A repair copy's location is recorded only once a HEAD finds the copy on
// the target with the right size, not on the target's word (its 2xx).
func TestACopyIsRecordedOnlyOnceAHeadFindsIt(t *testing.T) {
	cl, c := store(t, 3, meta.Options{Client: &http.Client{Transport: claimsPulls{next: http.DefaultTransport}}})
	v, err := c.Put(bg, "k", strings.NewReader("copy me, really"))
	require.NoError(t, err)
	ids, err := cl.Namespace().Replicas(v.Hash)
	require.NoError(t, err)
	require.Len(t, ids, 2)
	for i, d := range cl.Data {
		if d.Store.ID() == ids[0] {
			cl.Kill(i)
		}
	}
	cl.Clock.Add(45 * time.Second)
	cl.Beat()

	rep := round(t, cl)
	assert.Zero(t, rep.Copied, "a copy was counted on the target's word")
	assert.Equal(t, 1, rep.Failed)
	recorded, err := cl.Namespace().Replicas(v.Hash)
	require.NoError(t, err)
	for _, id := range recorded {
		if d := cl.ByID(id); !d.Down {
			assert.True(t, d.Has(v.Hash), "%s is recorded as holding the blob, but does not", id)
		}
	}
}

// After a restart of the metadata server, a data server that has not
// beaten yet is judged from the restart (see Registry.State): its copies
// count until its timeout and grace have run out, as a suspect's do, and
// a repair round in the meantime copies nothing. A server slow to come
// back with the metadata server (a machine rebooting) must not have
// everything it holds copied elsewhere.
func TestRepairAfterAMetaRestartWaitsForSilentServers(t *testing.T) {
	cl, c := store(t, 3, meta.Options{})
	v, err := c.Put(bg, "k", strings.NewReader("held by two"))
	require.NoError(t, err)
	ids, err := cl.Namespace().Replicas(v.Hash)
	require.NoError(t, err)
	require.Len(t, ids, 2)
	slow := slices.IndexFunc(cl.Data, func(d *storetest.DataNode) bool { return d.Store.ID() == ids[0] })
	cl.Kill(slow) // down while the metadata server restarts

	cl.RestartMeta()
	cl.Clock.Add(5 * time.Second)
	cl.Beat()
	require.Equal(t, meta.Alive, cl.Meta().Registry().State(ids[0]), "not heard from since the restart, 5s ago")
	rep := round(t, cl)
	assert.Zero(t, rep.UnderReplicated, "a copy on a server not heard from since the restart still counts")
	assert.Zero(t, rep.Copied)
	assert.Equal(t, 2, onDisk(cl, v.Hash))

	cl.Clock.Add(20 * time.Second) // suspect now: still counted
	cl.Beat()
	assert.Zero(t, round(t, cl).Copied, "a suspect's copies still count")

	cl.Clock.Add(30 * time.Second) // dead: copied elsewhere
	cl.Beat()
	assert.Equal(t, 1, round(t, cl).Copied)
}

// A surplus copy whose DELETE fails is not counted as trimmed: it is
// still on the disk, where the next round finds it, adopts it and trims
// it again. Counted both times, objectstore_repair_trimmed_total would
// say more copies were removed than ever existed.
func TestTrimmedCountsOnlyCopiesRemoved(t *testing.T) {
	var failing atomic.Int32 // DELETEs failed while on
	var on atomic.Bool
	fail := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if req.Method == http.MethodDelete && on.Load() {
			failing.Add(1)
			return nil, errors.New("this data server does not answer")
		}
		return http.DefaultTransport.RoundTrip(req)
	})
	cl, c := store(t, 4, meta.Options{Client: &http.Client{Transport: fail}})
	vs := putN(t, c, 20)
	cl.Kill(0)
	cl.Clock.Add(45 * time.Second)
	cl.Beat()
	round(t, cl)

	copies := func() (n int) {
		for _, v := range vs {
			n += onDisk(cl, v.Hash)
		}
		return n
	}
	cl.Restart(0)
	before := copies()
	require.Greater(t, before, 2*len(vs), "the returning server brought surplus copies")
	on.Store(true)
	first := round(t, cl)
	on.Store(false)
	require.Positive(t, failing.Load(), "DELETEs of surplus copies")
	assert.Equal(t, before, copies(), "every DELETE failed")
	assert.Zero(t, first.Trimmed, "copies whose DELETE failed counted as removed")

	second := round(t, cl)
	assert.Equal(t, 2*len(vs), copies())
	assert.Equal(t, before-copies(), first.Trimmed+second.Trimmed, "copies counted as trimmed, against copies removed")
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
