package dataserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/dataserver"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// counter is a Limiter that lets everything through and counts what it
// was asked for.
type counter struct {
	mu    sync.Mutex
	bytes int
	max   int // largest single request
}

func (c *counter) WaitN(_ context.Context, n int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bytes += n
	c.max = max(c.max, n)
	return nil
}

// The scrubber reads every byte through its limiter, in chunks that fit
// the token bucket's burst, and sets a damaged blob aside.
func TestScrubIsPacedAndFindsDamage(t *testing.T) {
	lim := &counter{}
	f := newFixture(t, dataserver.Options{ScrubLimiter: lim, Addr: "http://me", MetaURL: "http://127.0.0.1:1"}, nil)
	ds := dataserver.New(dataserver.Options{Store: f.store, ScrubLimiter: lim, Addr: "http://me", MetaURL: "http://127.0.0.1:1"})
	big := bytes.Repeat([]byte("x"), 100<<10)
	small := []byte("small")
	for _, b := range [][]byte{big, small} {
		_, err := f.store.Put(blob.Sum(b), bytes.NewReader(b))
		require.NoError(t, err)
	}
	rep, err := ds.Scrub(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, rep.Checked)
	assert.Equal(t, len(big)+len(small), lim.bytes, "bytes asked of the limiter")
	assert.LessOrEqual(t, lim.max, 32<<10, "one request larger than a chunk")
	assert.Empty(t, rep.Damaged)
	assert.Equal(t, 32<<10, dataserver.BytesPerSecond(1000).Burst(), "a slow bucket still admits one chunk")

	path := f.dir + "/blobs/" + string(blob.Sum(small)[:2]) + "/" + string(blob.Sum(small))
	require.NoError(t, writeFile(path, "smell"))
	rep, err = ds.Scrub(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []blob.Hash{blob.Sum(small)}, rep.Damaged)
	assert.Equal(t, 1, rep.Unsent, "the metadata server is unreachable: the report is kept")
	_, err = f.store.Stat(blob.Sum(small))
	assert.ErrorIs(t, err, blob.ErrNotFound, "the damaged copy is no longer served")
}

// A pull copies through the copy limiter and refuses a source whose
// bytes do not match (422), storing nothing.
func TestPull(t *testing.T) {
	src := newFixture(t, dataserver.Options{}, nil)
	data := []byte("copy me")
	h := blob.Sum(data)
	_, err := src.store.Put(h, bytes.NewReader(data))
	require.NoError(t, err)
	lim := &counter{}
	dst := newFixture(t, dataserver.Options{CopyLimiter: lim}, nil)

	pull := func() int {
		body, _ := json.Marshal(meta.Pull{Hash: h, From: src.srv.URL})
		resp, err := http.Post(dst.srv.URL+"/pull", "application/json", bytes.NewReader(body))
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusCreated, pull())
	assert.Equal(t, len(data), lim.bytes)
	assert.Equal(t, http.StatusOK, pull(), "already held, intact")

	require.NoError(t, dst.store.Remove(h))
	require.NoError(t, writeFile(src.dir+"/blobs/"+string(h[:2])+"/"+string(h), "copy mE"))
	assert.Equal(t, http.StatusUnprocessableEntity, pull())
	dst.assertNothingStored(t, h)
}

// A blob larger than this server's MaxBlobSize (the servers were started
// with different -max-size) is refused with 413, and nothing is stored:
// not stored (one byte over the limit), nor refused with 422, which
// tells the metadata server the source's good copy is bad and makes it
// forget that copy.
func TestPullOfABlobTooLargeIsNotBlamedOnTheSource(t *testing.T) {
	src := newFixture(t, dataserver.Options{}, nil)
	data := []byte("larger than the target takes")
	h := blob.Sum(data)
	_, err := src.store.Put(h, bytes.NewReader(data))
	require.NoError(t, err)
	for _, over := range []int64{1, 2} { // one byte over the limit, and more
		t.Run(fmt.Sprintf("%d over", over), func(t *testing.T) {
			dst := newFixture(t, dataserver.Options{MaxBlobSize: int64(len(data)) - over}, nil)
			body, _ := json.Marshal(meta.Pull{Hash: h, From: src.srv.URL})
			resp, err := http.Post(dst.srv.URL+"/pull", "application/json", bytes.NewReader(body))
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
			dst.assertNothingStored(t, h)
		})
	}
}

// A source whose answer says the blob is larger than this server's
// MaxBlobSize is refused before a byte is copied: the metadata server
// asks again every round, and each refusal must not cost a transfer of
// up to MaxBlobSize bytes, paced through the copy limiter, for nothing.
func TestPullOfABlobTooLargeCopiesNothing(t *testing.T) {
	src := newFixture(t, dataserver.Options{}, nil)
	data := bytes.Repeat([]byte("too large "), 10<<10)
	h := blob.Sum(data)
	_, err := src.store.Put(h, bytes.NewReader(data))
	require.NoError(t, err)
	lim := &counter{}
	dst := newFixture(t, dataserver.Options{MaxBlobSize: int64(len(data)) / 2, CopyLimiter: lim}, nil)
	body, _ := json.Marshal(meta.Pull{Hash: h, From: src.srv.URL})
	resp, err := http.Post(dst.srv.URL+"/pull", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.Zero(t, lim.bytes, "bytes copied from the source before the refusal")
	dst.assertNothingStored(t, h)
}

// A pull fetches From + "/blobs/" + hash: a From that is not a base URL
// (meta.CheckAddr) is a 400, and nothing is fetched or stored.
func TestPullTakesOnlyABaseURL(t *testing.T) {
	var asked atomic.Int32
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.NotFound(w, r)
	}))
	defer src.Close()
	dst := newFixture(t, dataserver.Options{}, nil)
	h := blob.Sum([]byte("copy me"))
	for _, from := range []string{"", "x", src.URL + "/elsewhere", src.URL + "/elsewhere?", src.URL + "#", "ftp://" + src.Listener.Addr().String()} {
		body, _ := json.Marshal(meta.Pull{Hash: h, From: from})
		resp, err := http.Post(dst.srv.URL+"/pull", "application/json", bytes.NewReader(body))
		require.NoError(t, err)
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "from %q: %s", from, msg)
		assert.Contains(t, string(msg), "not a base URL", "from %q", from)
	}
	assert.Zero(t, asked.Load(), "requests sent to the source")
	dst.assertNothingStored(t, h)
}

// A pull's body is one JSON object and nothing else: one followed by more
// (a second request, a truncated concatenation, stray bytes) is a 400,
// and nothing is fetched or stored, as for any other malformed request.
func TestPullTakesOneJSONObject(t *testing.T) {
	var asked atomic.Int32
	data := []byte("copy me")
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		w.Write(data)
	}))
	defer src.Close()
	dst := newFixture(t, dataserver.Options{}, nil)
	h := blob.Sum(data)
	one, err := json.Marshal(meta.Pull{Hash: h, From: src.URL})
	require.NoError(t, err)
	for _, extra := range []string{" garbage", "{}", string(one), `{"hash":`} {
		resp, err := http.Post(dst.srv.URL+"/pull", "application/json", strings.NewReader(string(one)+extra))
		require.NoError(t, err)
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "followed by %q: %s", extra, msg)
	}
	assert.Zero(t, asked.Load(), "requests sent to the source")
	dst.assertNothingStored(t, h)
}

// The maintenance endpoints: inventory, verify and delete.
func TestInventoryVerifyDelete(t *testing.T) {
	f := newFixture(t, dataserver.Options{}, nil)
	data := []byte("listed")
	h := blob.Sum(data)
	f.do(t, http.MethodPut, string(h), bytes.NewReader(data))

	resp, err := http.Get(f.srv.URL + "/blobs")
	require.NoError(t, err)
	var list []meta.Stored
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
	resp.Body.Close()
	stamp, err := f.store.Stamp(h)
	require.NoError(t, err)
	assert.Equal(t, []meta.Stored{{Hash: h, Size: int64(len(data)), Stamp: &stamp}}, list)

	resp, _ = f.do(t, http.MethodPost, string(h)+"/verify", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, writeFile(f.dir+"/blobs/"+string(h[:2])+"/"+string(h), "LISTED"))
	resp, _ = f.do(t, http.MethodPost, string(h)+"/verify", nil)
	assert.Equal(t, http.StatusConflict, resp.StatusCode)
	resp, _ = f.do(t, http.MethodPost, string(h)+"/verify", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "set aside by the first verify")

	f.do(t, http.MethodPut, string(h), bytes.NewReader(data))
	resp, _ = f.do(t, http.MethodDelete, string(h), nil)
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp, _ = f.do(t, http.MethodDelete, string(h), nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	f.assertNothingStored(t, h)
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }

// expired is a Limiter whose every wait ends with the caller's deadline,
// as when the metadata server gives up on a slow re-hash.
type expired struct{}

func (expired) WaitN(context.Context, int) error { return context.DeadlineExceeded }

// A pull re-hashes the copy it already holds; a re-hash cut short (here
// by a deadline) says nothing about the copy, so the copy stays in
// service and the pull answers 503 for the caller to try again. Only a
// copy found damaged is set aside.
func TestPullKeepsACopyWhoseCheckWasCutShort(t *testing.T) {
	data := []byte("a perfectly good copy")
	h := blob.Sum(data)
	dst := newFixture(t, dataserver.Options{ScrubLimiter: expired{}}, nil)
	_, err := dst.store.Put(h, bytes.NewReader(data))
	require.NoError(t, err)

	body, _ := json.Marshal(meta.Pull{Hash: h, From: "http://127.0.0.1:1"})
	resp, err := http.Post(dst.srv.URL+"/pull", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	q, err := dst.store.Quarantined()
	require.NoError(t, err)
	assert.Empty(t, q, "an intact copy was set aside because its check was cut short")
	_, err = dst.store.Stat(h)
	assert.NoError(t, err, "the intact copy is no longer served")
}

// failing is a blob.Disk on which one blob's reads fail with EIO, as on
// a bad sector, and another blob cannot even be opened (a passing
// trouble, such as too many open files).
type failing struct {
	*blob.Disk
	badSector, noOpen blob.Hash
}

type eioReader struct{ blob.Reader }

func (eioReader) Read([]byte) (int, error) { return 0, syscall.EIO }

func (f failing) Open(h blob.Hash) (blob.Reader, error) {
	switch h {
	case f.noOpen:
		return nil, errors.New("too many open files")
	case f.badSector:
		r, err := f.Disk.Open(h)
		if err != nil {
			return nil, err
		}
		return eioReader{r}, nil
	}
	return f.Disk.Open(h)
}

// One blob's trouble never stops a scrub. A copy that cannot be read is
// damaged: set aside and reported like a flipped byte. A blob that could
// not be checked at all is counted and left for the next scrub. Every
// other blob is still checked, and the reports are sent.
func TestScrubCarriesOnPastUnreadableBlobs(t *testing.T) {
	var (
		mu  sync.Mutex
		bad []blob.Hash
	)
	metaSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b meta.BadReplica
		if err := json.NewDecoder(r.Body).Decode(&b); !assert.NoError(t, err, "a report the metadata server cannot read") {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		bad = append(bad, b.Hash)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(metaSrv.Close)

	d, err := blob.OpenDisk(t.TempDir())
	require.NoError(t, err)
	var hs []blob.Hash
	for _, s := range []string{"one", "two", "three", "four"} {
		h := blob.Sum([]byte(s))
		_, err := d.Put(h, strings.NewReader(s))
		require.NoError(t, err)
		hs = append(hs, h)
	}
	slices.Sort(hs) // walk order: the troubled blobs come first
	store := failing{Disk: d, badSector: hs[0], noOpen: hs[1]}
	ds := dataserver.New(dataserver.Options{Store: store, Addr: "http://me", MetaURL: metaSrv.URL, Log: slog.New(slog.DiscardHandler)})

	rep, err := ds.Scrub(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 3, rep.Checked, "every blob but the one that could not be opened")
	assert.Equal(t, []blob.Hash{hs[0]}, rep.Damaged, "the unreadable copy")
	assert.Equal(t, 1, rep.Errors, "the blob that could not be opened")
	assert.Zero(t, rep.Unsent)
	mu.Lock()
	assert.Equal(t, []blob.Hash{hs[0]}, bad, "reports the metadata server received")
	mu.Unlock()
	q, err := d.Quarantined()
	require.NoError(t, err)
	assert.Equal(t, []blob.Hash{hs[0]}, q, "the unreadable copy is set aside")
	for _, h := range hs[1:] {
		_, err := d.Stat(h)
		assert.NoError(t, err, "a copy that was not found damaged is still served")
	}
}

// held is a Limiter whose first wait says so on reading and then waits
// until release is closed; later waits pass. As a ScrubLimiter it stops a
// re-hash after it has read a blob's bytes and before it has judged them.
type held struct {
	once    sync.Once
	reading chan struct{}
	release chan struct{}
}

func (l *held) WaitN(ctx context.Context, _ int) error {
	first := false
	l.once.Do(func() { first = true })
	if !first {
		return nil
	}
	close(l.reading)
	select {
	case <-l.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A scrub, a verify and a pull each re-hash a copy at the scrub rate, and
// set it aside if it is damaged. An upload can repair the same copy in
// the meantime: it sets the damaged copy aside and stores the good one.
// The re-hash still reads the damaged bytes it opened, and must then not
// set aside the good copy that has replaced them (it would be lost to
// service just after the upload was told it was stored, and lost for
// good on a store that cannot quarantine). Nor does a scrub report it:
// the copy the metadata server counts is good. The limiter holds the
// re-hash while the upload runs, so the order is the same every time.
func TestDamageFoundWhileAnUploadRepairsItSparesTheGoodCopy(t *testing.T) {
	data := []byte("the right bytes, stored again")
	h := blob.Sum(data)
	for _, path := range []string{"scrub", "verify", "pull"} {
		t.Run(path, func(t *testing.T) {
			lim := &held{reading: make(chan struct{}), release: make(chan struct{})}
			var reports atomic.Int32
			metaSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reports.Add(1)
				w.WriteHeader(http.StatusNoContent)
			}))
			t.Cleanup(metaSrv.Close)
			src := newFixture(t, dataserver.Options{}, nil) // holds nothing: a pull that reaches it fails
			// The upload and the re-hash go to one Server: its lock is theirs.
			counter := &syncCounter{}
			f := newFixture(t, dataserver.Options{ScrubLimiter: lim, Addr: "http://me", MetaURL: metaSrv.URL, Log: slog.New(slog.DiscardHandler)}, countSyncs(counter))
			_, err := f.store.Put(h, bytes.NewReader(data))
			require.NoError(t, err)
			require.NoError(t, writeFile(f.dir+"/blobs/"+string(h[:2])+"/"+string(h), "the wrong bytes, on a bad disk"))

			result := make(chan string, 1)
			go func() {
				switch path {
				case "scrub":
					rep, err := f.ds.Scrub(context.Background())
					result <- fmt.Sprintf("checked %d, damaged %d, err %v", rep.Checked, len(rep.Damaged), err)
				case "verify":
					resp, err := http.Post(f.srv.URL+"/blobs/"+string(h)+"/verify", "", nil)
					if err != nil {
						result <- err.Error()
						return
					}
					resp.Body.Close()
					result <- resp.Status + ", size " + resp.Header.Get("X-Size")
				case "pull":
					body, _ := json.Marshal(meta.Pull{Hash: h, From: src.srv.URL})
					resp, err := http.Post(f.srv.URL+"/pull", "application/json", bytes.NewReader(body))
					if err != nil {
						result <- err.Error()
						return
					}
					resp.Body.Close()
					result <- resp.Status
				}
			}()
			release := sync.OnceFunc(func() { close(lim.release) })
			defer release()
			select {
			case <-lim.reading:
			case <-time.After(waitFor):
				t.Fatal("the re-hash never read the copy")
			}
			resp, _ := f.do(t, http.MethodPut, string(h), bytes.NewReader(data))
			assert.Equal(t, http.StatusCreated, resp.StatusCode, "the upload that repairs the copy")
			release()

			want := map[string]string{
				"scrub":  "checked 1, damaged 0, err <nil>",
				"verify": fmt.Sprintf("200 OK, size %d", len(data)),
				"pull":   "200 OK",
			}[path]
			select {
			case got := <-result:
				assert.Equal(t, want, got, "what the %s says", path)
			case <-time.After(waitFor):
				t.Fatalf("the %s did not finish", path)
			}
			_, err = f.store.Stat(h)
			assert.NoError(t, err, "the good copy stored by the upload is no longer served")
			q, err := f.store.Quarantined()
			require.NoError(t, err)
			assert.Len(t, q, 1, "copies set aside: the damaged one only")
			assert.Zero(t, reports.Load(), "bad replicas reported")
			// The upload's own Put synced its rename; a 200 for the copy
			// it stored is still made durable first, since the verify or
			// pull cannot know the upload has finished.
			assert.EqualValues(t, map[string]int{"scrub": 0, "verify": 1, "pull": 1}[path], counter.syncs.Load(), "SyncBlob calls")
		})
	}
}

// RunMaintenance, the loop the program runs, scrubs and sweeps on every
// tick: a flipped byte is set aside and reported, and an abandoned
// temporary file is removed. The test drives the ticks and the clock.
func TestRunMaintenanceOnTicks(t *testing.T) {
	reports := make(chan meta.BadReplica, 10)
	m := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var bad meta.BadReplica
		if r.Method != http.MethodPost || r.URL.Path != "/bad" || json.NewDecoder(r.Body).Decode(&bad) != nil {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		reports <- bad
	}))
	t.Cleanup(m.Close)
	dir := t.TempDir()
	d, err := blob.OpenDisk(dir)
	require.NoError(t, err)
	later := time.Now().Add(2 * time.Hour) // past the default TempGrace of an hour
	ds := dataserver.New(dataserver.Options{Store: d, Addr: "http://me", MetaURL: m.URL, Now: func() time.Time { return later }})

	data := []byte("scrub me")
	h := blob.Sum(data)
	_, err = d.Put(h, bytes.NewReader(data))
	require.NoError(t, err)
	require.NoError(t, writeFile(dir+"/blobs/"+string(h[:2])+"/"+string(h), "scrub mE"))
	abandoned := dir + "/tmp/put-abandoned"
	require.NoError(t, writeFile(abandoned, "half an upload"))

	ticks := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { ds.RunMaintenance(ctx, ticks); close(stopped) }()
	ticks <- time.Time{}
	ticks <- time.Time{} // accepted only once the first tick's work is done
	cancel()
	<-stopped

	_, err = d.Stat(h)
	assert.ErrorIs(t, err, blob.ErrNotFound, "the damaged copy is still served: no scrub ran")
	select {
	case bad := <-reports:
		assert.Equal(t, meta.BadReplica{Hash: h, Addr: "http://me"}, bad)
	default:
		t.Error("the damaged copy was not reported to the metadata server")
	}
	assert.NoFileExists(t, abandoned, "the abandoned temporary file was not swept")
}

// A data server's temp sweep removes what an upload left in tmp/ more
// than an hour ago (Options.TempGrace's default), by the server's clock:
// a file last written 59 minutes ago stays, one of 61 minutes goes.
func TestSweepTempTakesFilesOlderThanAnHour(t *testing.T) {
	dir := t.TempDir()
	d, err := blob.OpenDisk(dir)
	require.NoError(t, err)
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	ds := dataserver.New(dataserver.Options{Store: d, Addr: "http://me", MetaURL: "http://127.0.0.1:1", Now: func() time.Time { return now }})
	recent, old := dir+"/tmp/put-recent", dir+"/tmp/put-old"
	for path, age := range map[string]time.Duration{recent: 59 * time.Minute, old: 61 * time.Minute} {
		require.NoError(t, writeFile(path, "half an upload"))
		require.NoError(t, os.Chtimes(path, now.Add(-age), now.Add(-age)))
	}
	n, err := ds.SweepTemp()
	require.NoError(t, err)
	assert.Equal(t, 1, n, "files removed")
	assert.FileExists(t, recent, "swept before it was an hour old")
	assert.NoFileExists(t, old, "an hour and more old, and not swept")
}
