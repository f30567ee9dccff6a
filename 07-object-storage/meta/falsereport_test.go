package meta_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
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

// report posts a bad-copy report, as a reader or a scrub does, and
// returns the answer's status code.
func report(t *testing.T, cl *storetest.Cluster, h blob.Hash, addr string) int {
	t.Helper()
	body, err := json.Marshal(meta.BadReplica{Hash: h, Addr: addr})
	require.NoError(t, err)
	resp, err := http.Post(cl.MetaURL+"/bad", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func records(t *testing.T, cl *storetest.Cluster, h blob.Hash) []string {
	t.Helper()
	ids, err := cl.Namespace().Replicas(h)
	require.NoError(t, err)
	return ids
}

// A report is a word, and can be false (a reader's network mangled the
// bytes, a reader's bug, anyone who reaches the metadata server): every
// copy of a blob reported bad, with R = 2 and R = 3, forgets none of
// them, since each data server re-hashes its copy and finds it intact.
// The object reads back at once, with no repair round. (Forgotten on the
// word alone, every copy was unreadable until a repair round adopted it
// again, and a client repeating its reports kept it so.)
func TestFalseReportsForgetNoCopy(t *testing.T) {
	for _, r := range []int{2, 3} {
		t.Run(fmt.Sprintf("R=%d", r), func(t *testing.T) {
			cl, c := store(t, r+1, meta.Options{Replicas: r})
			v, err := c.Put(bg, "k", strings.NewReader("intact"))
			require.NoError(t, err)
			before := records(t, cl, v.Hash)
			require.Len(t, before, r)
			for _, addr := range v.Replicas {
				assert.Equal(t, http.StatusAccepted, report(t, cl, v.Hash, addr), "a report is answered before its check")
			}
			cl.Meta().WaitReports()
			assert.Equal(t, before, records(t, cl, v.Hash), "an intact copy was forgotten on a false report")
			assert.Equal(t, "intact", content(t, c, "k"))
			for _, id := range before {
				q, err := cl.ByID(id).Store.Quarantined()
				require.NoError(t, err)
				assert.Empty(t, q, "an intact copy was set aside")
			}
		})
	}
}

// A true report is acted on: the data server's verify finds the copy
// damaged and sets it aside, and the record goes; the other copy stays,
// and the next round copies the blob again.
func TestATrueReportForgetsTheDamagedCopy(t *testing.T) {
	cl, c := store(t, 3, meta.Options{})
	v, err := c.Put(bg, "k", strings.NewReader("rotten"))
	require.NoError(t, err)
	d := cl.Node(v.Replicas[0])
	d.Corrupt(t, v.Hash)

	assert.Equal(t, http.StatusAccepted, report(t, cl, v.Hash, v.Replicas[0]))
	cl.Meta().WaitReports()
	assert.NotContains(t, records(t, cl, v.Hash), d.Store.ID(), "the damaged copy is still recorded")
	assert.Len(t, records(t, cl, v.Hash), 1)
	q, err := d.Store.Quarantined()
	require.NoError(t, err)
	assert.Equal(t, []blob.Hash{v.Hash}, q, "the verify set the damaged copy aside")
	assert.Equal(t, 1, round(t, cl).Copied)
	assert.Len(t, intact(t, cl, v.Hash), 2)
}

// A report of a copy whose data server cannot be reached forgets it, as
// before: nobody vouches for it. The copy is intact on the disk, and
// nothing loses it: GC leaves a referenced blob alone, and once the
// server is back (at a new address), the next round adopts the copy it
// lists rather than making another.
func TestACopyForgottenWhileItsServerIsDownIsAdoptedBack(t *testing.T) {
	cl, c := store(t, 3, meta.Options{GCGrace: time.Hour})
	v, err := c.Put(bg, "k", strings.NewReader("kept"))
	require.NoError(t, err)
	d := cl.Node(v.Replicas[0])
	id := d.Store.ID()
	i := slices.Index(cl.Data, d)
	cl.Kill(i)

	assert.Equal(t, http.StatusAccepted, report(t, cl, v.Hash, v.Replicas[0]))
	cl.Meta().WaitReports()
	assert.NotContains(t, records(t, cl, v.Hash), id, "no answer: the copy is forgotten")

	cl.Restart(i)
	for range 2 { // the first marks garbage, the second, past the grace period, deletes it
		cl.Clock.Add(2 * time.Hour)
		cl.Beat()
		assert.Zero(t, gc(t, cl).Copies, "GC deleted a copy of a referenced blob")
	}
	require.True(t, cl.Data[i].Intact(v.Hash))
	rep := round(t, cl)
	assert.Equal(t, 1, rep.Adopted)
	assert.Zero(t, rep.Copied)
	assert.Contains(t, records(t, cl, v.Hash), id)
	assert.Equal(t, "kept", content(t, c, "k"))
}

// holdVerifies is a transport for the metadata server that holds every
// verify until release is closed, and counts them.
type holdVerifies struct {
	base     http.RoundTripper
	started  chan string // the path of each verify, as it starts
	release  chan struct{}
	verifies atomic.Int32
}

func (h *holdVerifies) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/verify") {
		h.verifies.Add(1)
		h.started <- r.URL.Path
		<-h.release
	}
	return h.base.RoundTrip(r)
}

// waitStarted waits for a verify to start and returns its path. The
// bound is on a hang (a check that never verifies), so that the test
// fails and says so instead of running into the test binary's timeout.
func (h *holdVerifies) waitStarted(t *testing.T) string {
	t.Helper()
	select {
	case path := <-h.started:
		return path
	case <-time.After(10 * time.Second): // a bound on a hang; it times nothing
		t.Fatal("no verify started: the report was not checked")
		return ""
	}
}

func newHold() *holdVerifies {
	return &holdVerifies{base: http.DefaultTransport.(*http.Transport).Clone(), started: make(chan string, 16), release: make(chan struct{})}
}

// The check runs after the answer: a reader that reports a copy goes on
// to the next one at once, however long the re-hash takes.
func TestAReportIsAnsweredBeforeItsCheck(t *testing.T) {
	hold := newHold()
	cl, c := store(t, 2, meta.Options{Client: &http.Client{Transport: hold}})
	v, err := c.Put(bg, "k", strings.NewReader("slow to verify"))
	require.NoError(t, err)
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(hold.release) }) })

	answer := make(chan int, 1)
	go func() {
		// Not report: require's FailNow only in the test's own goroutine.
		body, _ := json.Marshal(meta.BadReplica{Hash: v.Hash, Addr: v.Replicas[0]})
		resp, err := http.Post(cl.MetaURL+"/bad", "application/json", bytes.NewReader(body))
		if err != nil {
			answer <- 0
			return
		}
		resp.Body.Close()
		answer <- resp.StatusCode
	}()
	hold.waitStarted(t) // the check is re-hashing the copy
	select {
	case code := <-answer:
		assert.Equal(t, http.StatusAccepted, code)
	case <-time.After(10 * time.Second):
		t.Error("the report's answer waited for the copy's verify")
	}
	once.Do(func() { close(hold.release) })
	cl.Meta().WaitReports()
	assert.Len(t, records(t, cl, v.Hash), 2)
}

// A flood of reports costs a bounded amount of work: a repeat of a
// report waiting for its check adds nothing, one past the bound is
// refused with 503 (a scrub sends it again), a report of a copy no
// record names is answered 204 and checks nothing, and once the checks
// are done reports are taken again.
func TestReportsWaitingForACheckAreBounded(t *testing.T) {
	hold := newHold()
	cl, c := store(t, 2, meta.Options{Client: &http.Client{Transport: hold}})
	meta.SetMaxReports(cl.Meta(), 2)
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(hold.release) }) })
	var vs []meta.Version
	for i := range 3 {
		v, err := c.Put(bg, fmt.Sprint("k", i), strings.NewReader(fmt.Sprint("content ", i)))
		require.NoError(t, err)
		vs = append(vs, v)
	}

	assert.Equal(t, http.StatusAccepted, report(t, cl, vs[0].Hash, vs[0].Replicas[0]))
	assert.Equal(t, http.StatusAccepted, report(t, cl, vs[1].Hash, vs[1].Replicas[0]))
	assert.Equal(t, http.StatusAccepted, report(t, cl, vs[0].Hash, vs[0].Replicas[0]), "a repeat")
	assert.Equal(t, http.StatusServiceUnavailable, report(t, cl, vs[2].Hash, vs[2].Replicas[0]), "past the bound")
	assert.Equal(t, http.StatusNoContent, report(t, cl, h("never stored"), vs[0].Replicas[0]), "no record names it")

	once.Do(func() { close(hold.release) })
	cl.Meta().WaitReports()
	assert.Equal(t, int32(2), hold.verifies.Load(), "verifies for the reports taken")
	assert.Equal(t, http.StatusAccepted, report(t, cl, vs[2].Hash, vs[2].Replicas[0]), "taken once the checks are done")
	cl.Meta().WaitReports()
	assert.Equal(t, int32(3), hold.verifies.Load())
	for _, v := range vs {
		assert.Len(t, records(t, cl, v.Hash), 2)
	}
}

// funcTransport sends each request through f.
type funcTransport func(*http.Request) (*http.Response, error)

func (f funcTransport) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// holdAfterVerify returns an HTTP client for a metadata server that
// holds back the first answer to a verify after the data server has
// given it (the copy damaged, set aside): verified is closed then, and
// release lets the answer through. The caller registers release as a
// cleanup once its cluster is started: cleanups run last first, so a
// test that stops early then lets the check end before the cluster's
// cleanup waits for it (registered before, the test hung instead of
// failing).
func holdAfterVerify() (c *http.Client, verified <-chan struct{}, release func()) {
	base := http.DefaultTransport.(*http.Transport).Clone()
	answered, held := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var first atomic.Bool
	release = func() { once.Do(func() { close(held) }) }
	c = &http.Client{Transport: funcTransport(func(r *http.Request) (*http.Response, error) {
		resp, err := base.RoundTrip(r)
		if strings.HasSuffix(r.URL.Path, "/verify") && first.CompareAndSwap(false, true) {
			close(answered) // the data server has answered: set aside (409)
			<-held
		}
		return resp, err
	})}
	return c, answered, release
}

// A reader that reports a bad copy and then repairs it (read repair)
// races the report's check. Here the check's verify sets the damaged
// copy aside first, the reader then stores its verified bytes at the same
// server and records them, and only then does the check act on the
// verify's "damaged": it must not forget the copy the repair has just
// recorded. (Each step is held until the one before it is done.)
func TestAReadRepairDuringTheCheckKeepsItsCopy(t *testing.T) {
	base := http.DefaultTransport.(*http.Transport).Clone()
	metaHTTP, verified, release := holdAfterVerify()
	var armed atomic.Bool // once the object is written
	cl := storetest.New(t, 2, meta.Options{Timeout: 10 * time.Second, Grace: 30 * time.Second, Client: metaHTTP})
	t.Cleanup(release)
	c := client.New(client.Options{MetaURL: cl.MetaURL, TempDir: t.TempDir(), Now: cl.Clock.Now, Log: storetest.Quiet, MetaCacheEntries: -1, DataCacheBytes: 1,
		HTTP: &http.Client{Transport: funcTransport(func(r *http.Request) (*http.Response, error) {
			if r.Method == http.MethodPut && armed.Load() {
				<-verified // the repair's upload comes after the verify
			}
			return base.RoundTrip(r)
		})}})
	v, err := c.Put(bg, "k", strings.NewReader("repaired by its reader"))
	require.NoError(t, err)
	bad := cl.Node(v.Replicas[0])
	bad.Corrupt(t, v.Hash)
	armed.Store(true)

	assert.Equal(t, "repaired by its reader", content(t, c, "k"))
	release()
	cl.Meta().WaitReports()
	assert.Contains(t, records(t, cl, v.Hash), bad.Store.ID(), "the check forgot the copy the read repair stored")
	assert.True(t, bad.Intact(v.Hash))
	q, err := bad.Store.Quarantined()
	require.NoError(t, err)
	assert.Equal(t, []blob.Hash{v.Hash}, q, "the damaged copy was set aside by the verify")
}

// A copy reported bad is not offered to a read repair as held, even when
// it is the only live copy on record (the reader read a dead server's
// copy): the repair sends its verified bytes there too, and the check
// then finds a good copy. (The check is held until the read is done, so
// the placement sees the report waiting.)
func TestAReadRepairRewritesTheOnlyLiveCopyReported(t *testing.T) {
	hold := newHold()
	cl, c := store(t, 3, meta.Options{Client: &http.Client{Transport: hold}})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(hold.release) }) })
	v, err := c.Put(bg, "k", strings.NewReader("read from the dead"))
	require.NoError(t, err)
	bad, dead := cl.Node(v.Replicas[0]), cl.Node(v.Replicas[1])
	cl.Clock.Add(41 * time.Second) // past timeout and grace: dead, unless it beats
	for _, d := range cl.Data {
		if d != dead {
			require.NoError(t, d.Server.Beat(bg))
		}
	}
	bad.Corrupt(t, v.Hash)

	assert.Equal(t, "read from the dead", content(t, c, "k"))
	once.Do(func() { close(hold.release) })
	cl.Meta().WaitReports()
	assert.True(t, bad.Intact(v.Hash), "the read repair left the reported copy damaged")
	assert.Contains(t, records(t, cl, v.Hash), bad.Store.ID())
}

// A scrub's report refused because too many wait (503) is kept by the
// data server and sent again by its next scrub, and then acted on: the
// set-aside copy is forgotten.
func TestAScrubReportRefusedIsSentAgain(t *testing.T) {
	hold := newHold()
	cl, c := store(t, 3, meta.Options{Client: &http.Client{Transport: hold}})
	meta.SetMaxReports(cl.Meta(), 1)
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(hold.release) }) })
	busy, err := c.Put(bg, "busy", strings.NewReader("its check is held"))
	require.NoError(t, err)
	v, err := c.Put(bg, "k", strings.NewReader("rots on one disk"))
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, report(t, cl, busy.Hash, busy.Replicas[0]))
	d := cl.Node(v.Replicas[0])
	d.Corrupt(t, v.Hash)

	rep, err := d.Server.Scrub(bg)
	require.NoError(t, err)
	assert.Equal(t, []blob.Hash{v.Hash}, rep.Damaged)
	assert.Equal(t, 1, rep.Unsent, "the refused report is kept")
	once.Do(func() { close(hold.release) })
	cl.Meta().WaitReports()
	assert.Contains(t, records(t, cl, v.Hash), d.Store.ID(), "nothing acted on the refused report yet")

	rep, err = d.Server.Scrub(bg)
	require.NoError(t, err)
	assert.Zero(t, rep.Unsent)
	cl.Meta().WaitReports()
	assert.Equal(t, []string{cl.Node(v.Replicas[1]).Store.ID()}, records(t, cl, v.Hash), "the set-aside copy is forgotten")
}

// Close stops the checks: one cut short mid-verify forgets nothing (a
// verify that got no answer because the server is stopping says nothing
// about the copy), Close returns once it has stopped, and later reports
// are refused. A program calls Close before its data servers stop:
// a check left running then found them gone and forgot every copy it
// checked, intact or not.
func TestCloseStopsTheChecksAndForgetsNothing(t *testing.T) {
	started := make(chan struct{}, 16)
	base := http.DefaultTransport.(*http.Transport).Clone()
	metaHTTP := &http.Client{Transport: funcTransport(func(r *http.Request) (*http.Response, error) {
		if strings.HasSuffix(r.URL.Path, "/verify") {
			started <- struct{}{}
			<-r.Context().Done() // held until the check is cancelled
			return nil, r.Context().Err()
		}
		return base.RoundTrip(r)
	})}
	cl, c := store(t, 2, meta.Options{Client: metaHTTP})
	v, err := c.Put(bg, "k", strings.NewReader("checked at the stop"))
	require.NoError(t, err)
	before := records(t, cl, v.Hash)

	require.Equal(t, http.StatusAccepted, report(t, cl, v.Hash, v.Replicas[0]))
	<-started // the check is re-hashing the copy
	closed := make(chan struct{})
	go func() {
		cl.Meta().Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not stop the check under way")
	}
	assert.Equal(t, before, records(t, cl, v.Hash), "a check cut short by Close forgot the copy")
	assert.Equal(t, http.StatusServiceUnavailable, report(t, cl, v.Hash, v.Replicas[1]), "a report after Close")
	assert.Len(t, started, 0, "a check ran after Close")
}

// A writer of the same content races a report's check as a read repair
// does: the copy reported waits for its check, so the placement does not
// offer it as held, and the writer sends its bytes there and commits
// them. Here the check's verify sets the damaged copy aside first, the
// writer then stores its bytes at the same server and commits, counting
// that copy, and only then does the check act on the verify's "damaged":
// it must not forget the copy the commit has just counted. (Forgotten,
// the blob was recorded on fewer servers than the commit's quorum until
// a repair round adopted the copy back.)
func TestACommitDuringTheCheckKeepsItsCopy(t *testing.T) {
	metaHTTP, verified, release := holdAfterVerify()
	cl, c := store(t, 2, meta.Options{Client: metaHTTP})
	t.Cleanup(release)
	v, err := c.Put(bg, "k", strings.NewReader("written twice"))
	require.NoError(t, err)
	bad := cl.Node(v.Replicas[0])
	bad.Corrupt(t, v.Hash)

	require.Equal(t, http.StatusAccepted, report(t, cl, v.Hash, v.Replicas[0]))
	<-verified
	again, err := c.Put(bg, "k2", strings.NewReader("written twice"))
	require.NoError(t, err)
	require.Equal(t, v.Hash, again.Hash)
	require.True(t, bad.Intact(v.Hash), "the writer sent no bytes to the copy reported")
	release()
	cl.Meta().WaitReports()
	assert.Contains(t, records(t, cl, v.Hash), bad.Store.ID(), "the check forgot the copy the commit counted")
}

// A repair round races a report's check too: here the check's verify
// sets the damaged copy aside, the round then finds it gone, forgets it
// and copies the blob to the same server again, and only then does the
// check act on the verify's "damaged": it must not forget the copy the
// round has just made and recorded. (The check is held after its verify,
// which the round's copy to that server waits for.)
func TestARepairRoundDuringTheCheckKeepsItsCopy(t *testing.T) {
	cl, c := store(t, 2, meta.Options{})
	verified, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	meta.SetForgetHook(cl.Meta(), func() {
		close(verified)
		<-release
	})
	v, err := c.Put(bg, "k", strings.NewReader("copied again"))
	require.NoError(t, err)
	bad := cl.Node(v.Replicas[0])
	bad.Corrupt(t, v.Hash)

	require.Equal(t, http.StatusAccepted, report(t, cl, v.Hash, v.Replicas[0]))
	<-verified
	rep := round(t, cl)
	require.Equal(t, 1, rep.Dropped, "the round forgets the copy set aside")
	require.Equal(t, 1, rep.Copied, "and copies the blob there again")
	require.True(t, bad.Intact(v.Hash))
	once.Do(func() { close(release) })
	cl.Meta().WaitReports()
	assert.Contains(t, records(t, cl, v.Hash), bad.Store.ID(), "the check forgot the copy the round made")
}
