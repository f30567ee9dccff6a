package meta_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// countVerifies returns an HTTP client for a metadata server that counts
// the verifies it asks for.
func countVerifies() (*http.Client, *atomic.Int32) {
	base := http.DefaultTransport.(*http.Transport).Clone()
	var n atomic.Int32
	return &http.Client{Transport: funcTransport(func(r *http.Request) (*http.Response, error) {
		if strings.HasSuffix(r.URL.Path, "/verify") {
			n.Add(1)
		}
		return base.RoundTrip(r)
	})}, &n
}

// A client that reports the same intact copy again and again does not
// keep its data server re-hashing it: a report of a copy being checked
// is merged with that check, and a copy found intact is not re-hashed
// for meta.ReportQuiet; a report of it then gets a HEAD only, which
// keeps a copy still there. Once the interval is over, the next report
// re-hashes it again, and a copy that rotted since is forgotten.
// (Before, every report once the last check was done cost a re-hash:
// 256 MiB of reading for each report of a large blob.)
func TestRepeatedReportsOfAnIntactCopyAreNotReHashed(t *testing.T) {
	hold := newHold()
	cl, c := store(t, 3, meta.Options{Client: &http.Client{Transport: hold}})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(hold.release) }) })
	v, err := c.Put(bg, "k", strings.NewReader("reported over and over"))
	require.NoError(t, err)
	before := records(t, cl, v.Hash)

	require.Equal(t, http.StatusAccepted, report(t, cl, v.Hash, v.Replicas[0]))
	hold.waitStarted(t) // being checked
	assert.Equal(t, http.StatusAccepted, report(t, cl, v.Hash, v.Replicas[0]), "a repeat during the check")
	once.Do(func() { close(hold.release) })
	cl.Meta().WaitReports()
	require.Equal(t, int32(1), hold.verifies.Load(), "a repeat during the check was checked again")

	for range 5 {
		cl.Clock.Add(meta.ReportQuiet / 10)
		cl.Beat()
		assert.Equal(t, http.StatusAccepted, report(t, cl, v.Hash, v.Replicas[0]))
		cl.Meta().WaitReports()
	}
	assert.Equal(t, int32(1), hold.verifies.Load(), "a copy found intact was re-hashed within the quiet interval")
	assert.Equal(t, before, records(t, cl, v.Hash))

	cl.Clock.Add(meta.ReportQuiet / 2)
	cl.Beat()
	bad := cl.Node(v.Replicas[0])
	bad.Corrupt(t, v.Hash)
	assert.Equal(t, http.StatusAccepted, report(t, cl, v.Hash, v.Replicas[0]))
	cl.Meta().WaitReports()
	assert.Equal(t, int32(2), hold.verifies.Load(), "past the quiet interval a report re-hashes the copy")
	assert.NotContains(t, records(t, cl, v.Hash), bad.Store.ID(), "the copy that rotted since is still recorded")
}

// Within the quiet interval a copy that rots is still caught: the data
// server's scrub re-hashes every copy on its own, sets the damaged one
// aside and reports it, and the report's HEAD finds nothing there, so
// the copy is forgotten with no second re-hash.
func TestAScrubReportWithinTheQuietIntervalIsActedOn(t *testing.T) {
	metaHTTP, verifies := countVerifies()
	cl, c := store(t, 3, meta.Options{Client: metaHTTP})
	v, err := c.Put(bg, "k", strings.NewReader("rots after a false report"))
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, report(t, cl, v.Hash, v.Replicas[0]))
	cl.Meta().WaitReports()
	require.Equal(t, int32(1), verifies.Load())
	bad := cl.Node(v.Replicas[0])
	require.Contains(t, records(t, cl, v.Hash), bad.Store.ID(), "the false report forgot the copy")

	bad.Corrupt(t, v.Hash)
	assert.Equal(t, http.StatusAccepted, report(t, cl, v.Hash, v.Replicas[0]), "a reader's report, within the interval")
	cl.Meta().WaitReports()
	assert.Contains(t, records(t, cl, v.Hash), bad.Store.ID(), "within the interval a copy still there is kept (HEAD only)")
	rep, err := bad.Server.Scrub(bg)
	require.NoError(t, err)
	require.Equal(t, []blob.Hash{v.Hash}, rep.Damaged)
	cl.Meta().WaitReports()
	assert.NotContains(t, records(t, cl, v.Hash), bad.Store.ID(), "the scrub's report of the copy set aside was not acted on")
	assert.Equal(t, int32(1), verifies.Load(), "a report within the quiet interval re-hashed the copy")
}

// Within the quiet interval the HEAD compares the copy's size with the
// size it had when it was re-hashed intact: a copy cut short since (a
// truncated file answers a HEAD as well as a whole one) is re-hashed and
// forgotten on a reader's report, not kept on the HEAD alone until the
// interval ends or the scrub comes.
func TestACopyCutShortWithinTheQuietIntervalIsReHashed(t *testing.T) {
	metaHTTP, verifies := countVerifies()
	cl, c := store(t, 3, meta.Options{Client: metaHTTP})
	v, err := c.Put(bg, "k", strings.NewReader("cut short after a false report"))
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, report(t, cl, v.Hash, v.Replicas[0]))
	cl.Meta().WaitReports()
	require.Equal(t, int32(1), verifies.Load())
	bad := cl.Node(v.Replicas[0])
	require.Contains(t, records(t, cl, v.Hash), bad.Store.ID(), "the false report forgot the copy")

	require.NoError(t, os.Truncate(bad.BlobPath(v.Hash), v.Size/2))
	assert.Equal(t, http.StatusAccepted, report(t, cl, v.Hash, v.Replicas[0]), "a reader's report, within the interval")
	cl.Meta().WaitReports()
	assert.Equal(t, int32(2), verifies.Load(), "a copy of another size was taken on a HEAD alone")
	assert.NotContains(t, records(t, cl, v.Hash), bad.Store.ID(), "the copy cut short is still recorded")
}

// A copy a check forgets is no longer one found intact: a copy stored at
// its address since (here by a repair round) is re-hashed on its first
// report, even within meta.ReportQuiet of the old copy's re-hash, and
// forgotten if damaged. (Kept, it would be taken on a HEAD alone.)
func TestACopyMadeWhereOneWasForgottenIsReHashed(t *testing.T) {
	metaHTTP, verifies := countVerifies()
	cl, c := store(t, 2, meta.Options{Client: metaHTTP})
	v, err := c.Put(bg, "k", strings.NewReader("forgotten, then copied again"))
	require.NoError(t, err)
	bad := cl.Node(v.Replicas[0])
	require.Equal(t, http.StatusAccepted, report(t, cl, v.Hash, v.Replicas[0]))
	cl.Meta().WaitReports()
	require.Equal(t, int32(1), verifies.Load(), "the false report re-hashed the copy")

	bad.Corrupt(t, v.Hash)
	_, err = bad.Server.Scrub(bg)
	require.NoError(t, err)
	cl.Meta().WaitReports()
	require.NotContains(t, records(t, cl, v.Hash), bad.Store.ID(), "the scrub's report forgot the copy set aside")
	rep := round(t, cl)
	require.Equal(t, 1, rep.Copied, "the round copies the blob there again")
	require.Contains(t, records(t, cl, v.Hash), bad.Store.ID())

	bad.Corrupt(t, v.Hash)
	assert.Equal(t, http.StatusAccepted, report(t, cl, v.Hash, v.Replicas[0]))
	cl.Meta().WaitReports()
	assert.Equal(t, int32(2), verifies.Load(), "the new copy's report was not re-hashed")
	assert.NotContains(t, records(t, cl, v.Hash), bad.Store.ID(), "the new copy, damaged, is still recorded")
}

// syncBuffer is a log's destination that checks may read while the
// metadata server's checks write to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// The log says what a check did: a report within meta.ReportQuiet of the
// copy's re-hash is not re-hashed, and its line must not say the copy
// "verifies", as the line of a re-hash does.
func TestAHeadOnlyCheckIsNotLoggedAsAVerify(t *testing.T) {
	var log syncBuffer
	metaHTTP, verifies := countVerifies()
	cl, c := store(t, 2, meta.Options{Client: metaHTTP, Log: slog.New(slog.NewTextHandler(&log, nil))})
	v, err := c.Put(bg, "k", strings.NewReader("checked twice, re-hashed once"))
	require.NoError(t, err)
	for range 2 {
		require.Equal(t, http.StatusAccepted, report(t, cl, v.Hash, v.Replicas[0]))
		cl.Meta().WaitReports()
	}
	require.Equal(t, int32(1), verifies.Load())
	var lines []string
	for _, l := range strings.Split(log.String(), "\n") {
		if strings.Contains(l, "msg=\"bad replica report ") { // a check's outcome
			lines = append(lines, l)
		}
	}
	require.Len(t, lines, 2, log.String())
	assert.Contains(t, lines[0], "the copy verifies; kept")
	assert.NotContains(t, lines[1], "verifies", "a HEAD logged as a re-hash")
	assert.Contains(t, lines[1], "not re-hashed")
}
