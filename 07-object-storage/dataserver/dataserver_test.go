package dataserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/dataserver"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

const waitFor = 10 * time.Second

type fixture struct {
	dir   string
	store *blob.Disk
	ds    *dataserver.Server // the server behind srv
	srv   *httptest.Server
	done  chan struct{} // receives after each request's handler returns
}

func newFixture(t *testing.T, opt dataserver.Options, wrap func(blob.Store) blob.Store) *fixture {
	t.Helper()
	dir := t.TempDir()
	d, err := blob.OpenDisk(dir)
	require.NoError(t, err)
	f := &fixture{dir: dir, store: d, done: make(chan struct{}, 100)}
	opt.Store = d
	if wrap != nil {
		opt.Store = wrap(d)
	}
	f.ds = dataserver.New(opt)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { f.done <- struct{}{} }()
		f.ds.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) do(t *testing.T, method, hash string, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+"/blobs/"+hash, body)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// assertNothingStored checks that a failed write left no blob and no
// temporary file.
func (f *fixture) assertNothingStored(t *testing.T, h blob.Hash) {
	t.Helper()
	_, err := f.store.Stat(h)
	assert.ErrorIs(t, err, blob.ErrNotFound, "a failed write left a blob")
	n, err := f.store.TempFiles()
	require.NoError(t, err)
	assert.Zero(t, n, "a failed write left a temporary file")
	u, _ := f.store.Usage()
	assert.Equal(t, blob.Usage{}, u)
}

func TestPutGetHead(t *testing.T) {
	f := newFixture(t, dataserver.Options{}, nil)
	data := []byte("the quick brown fox")
	h := string(blob.Sum(data))

	resp, _ := f.do(t, http.MethodPut, h, bytes.NewReader(data))
	assert.Equal(t, http.StatusCreated, resp.StatusCode)

	resp, body := f.do(t, http.MethodGet, h, nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, string(data), body)
	assert.Equal(t, `"`+h+`"`, resp.Header.Get("ETag"))

	resp, body = f.do(t, http.MethodHead, h, nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, int64(len(data)), resp.ContentLength)
	assert.Empty(t, body)

	// Writing it again is a no-op that says so.
	resp, _ = f.do(t, http.MethodPut, h, bytes.NewReader(data))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// A second PUT of a stored blob is answered without reading the body,
// even a large one; the client still gets its 200.
func TestPutExistingSkipsBody(t *testing.T) {
	f := newFixture(t, dataserver.Options{}, nil)
	data := bytes.Repeat([]byte("x"), 4<<20)
	h := string(blob.Sum(data))
	resp, _ := f.do(t, http.MethodPut, h, bytes.NewReader(data))
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	req, err := http.NewRequest(http.MethodPut, f.srv.URL+"/blobs/"+h, bytes.NewReader(data))
	require.NoError(t, err)
	req.Header.Set("Expect", "100-continue")
	tr := &http.Transport{ExpectContinueTimeout: waitFor}
	defer tr.CloseIdleConnections()
	resp, err = (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// A PUT of a stored blob whose Content-Length is not the blob's size
// cannot be that blob: it is a 400, not "have it already", and the
// stored copy is kept as it was.
func TestPutExistingWithAnotherLengthIs400(t *testing.T) {
	f := newFixture(t, dataserver.Options{}, nil)
	data := []byte("the stored bytes")
	h := string(blob.Sum(data))
	resp, _ := f.do(t, http.MethodPut, h, bytes.NewReader(data))
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	for _, body := range []string{"", "short", string(data) + " and more"} {
		resp, msg := f.do(t, http.MethodPut, h, strings.NewReader(body))
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "a body of %d bytes: %s", len(body), msg)
	}
	resp, got := f.do(t, http.MethodGet, h, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, string(data), got)
}

// syncCounter is a blob.Disk that counts SyncBlob calls.
type syncCounter struct {
	*blob.Disk
	syncs atomic.Int32
}

func (s *syncCounter) SyncBlob(h blob.Hash) error { s.syncs.Add(1); return s.Disk.SyncBlob(h) }

// countSyncs returns a fixture wrap that counts the SyncBlob calls of
// its store in c.
func countSyncs(c *syncCounter) func(blob.Store) blob.Store {
	return func(d blob.Store) blob.Store { c.Disk = d.(*blob.Disk); return c }
}

// A PUT answered from a copy found on disk makes that copy's name durable
// first: it may be another upload's, renamed but not yet synced.
func TestPutExistingSyncsItFirst(t *testing.T) {
	counter := &syncCounter{}
	f := newFixture(t, dataserver.Options{}, countSyncs(counter))
	data := []byte("seen on disk")
	h := string(blob.Sum(data))
	resp, _ := f.do(t, http.MethodPut, h, bytes.NewReader(data))
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.Zero(t, counter.syncs.Load(), "its own Put made the first copy durable")
	resp, _ = f.do(t, http.MethodPut, h, bytes.NewReader(data))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.EqualValues(t, 1, counter.syncs.Load(), "answered 'have it' without making it durable")
}

// A verify or a pull that finds an intact copy makes its name durable
// before it answers 200, as a PUT does: the metadata server counts the
// copy on that answer (and may remove a surplus one elsewhere for it),
// and the copy may be an upload's, renamed but not yet synced.
func TestHeldCopiesAreDurableBeforeVerifyOrPullSaySo(t *testing.T) {
	data := []byte("held already")
	h := blob.Sum(data)
	for _, path := range []string{"verify", "pull"} {
		t.Run(path, func(t *testing.T) {
			counter := &syncCounter{}
			f := newFixture(t, dataserver.Options{}, countSyncs(counter))
			_, err := f.store.Put(h, bytes.NewReader(data))
			require.NoError(t, err)
			var resp *http.Response
			if path == "verify" {
				resp, err = http.Post(f.srv.URL+"/blobs/"+string(h)+"/verify", "", nil)
			} else {
				body, _ := json.Marshal(meta.Pull{Hash: h, From: "http://unused.invalid"})
				resp, err = http.Post(f.srv.URL+"/pull", "application/json", bytes.NewReader(body))
			}
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.EqualValues(t, 1, counter.syncs.Load(), "answered 200 for a copy without making it durable")
		})
	}
}

// The metadata server's confirming HEAD (meta.ConfirmHeader) is the
// answer a commit counts a copy on, so it too comes after the copy's
// name is durable: the copy may be an upload's renamed into place and
// not yet synced, or one whose Put failed at that sync. A plain read
// does not pay for a sync.
func TestAConfirmingHeadMakesTheCopyDurable(t *testing.T) {
	counter := &syncCounter{}
	f := newFixture(t, dataserver.Options{}, countSyncs(counter))
	data := []byte("about to be counted")
	h := blob.Sum(data)
	_, err := f.store.Put(h, bytes.NewReader(data))
	require.NoError(t, err)

	resp, _ := f.do(t, http.MethodHead, string(h), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Zero(t, counter.syncs.Load(), "a plain HEAD synced")

	req, err := http.NewRequest(http.MethodHead, f.srv.URL+"/blobs/"+string(h), nil)
	require.NoError(t, err)
	req.Header.Set(meta.ConfirmHeader, "1")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.EqualValues(t, len(data), resp.ContentLength)
	assert.EqualValues(t, 1, counter.syncs.Load(), "confirmed a copy to the metadata server without making it durable")
}

// A PUT of a blob whose stored copy has rotted replaces the copy.
func TestPutRepairsDamagedBlob(t *testing.T) {
	f := newFixture(t, dataserver.Options{}, nil)
	h := putOverADamagedCopy(t, f)
	q, err := f.store.Quarantined()
	require.NoError(t, err)
	assert.Equal(t, []blob.Hash{h}, q, "the damaged copy is set aside, not destroyed")
}

// On a store that cannot quarantine (not a blob.Quarantiner, as a
// learner's store may be), a damaged copy found by an upload is removed
// instead, and the upload stored: never kept in service, and never left
// in place for the upload's Put to take as "already stored".
func TestPutRepairsDamagedBlobOnAStoreThatCannotQuarantine(t *testing.T) {
	f := newFixture(t, dataserver.Options{Log: slog.New(slog.DiscardHandler)}, func(d blob.Store) blob.Store {
		return struct{ blob.Store }{d} // only the methods of a blob.Store
	})
	putOverADamagedCopy(t, f)
	q, err := f.store.Quarantined()
	require.NoError(t, err)
	assert.Empty(t, q, "the store is not a blob.Quarantiner: the copy is removed")
}

// putOverADamagedCopy stores a blob, damages its copy on disk, PUTs the
// blob again and checks that the upload replaced the copy: a 201, and a
// GET serves the good bytes. It returns the blob's hash.
func putOverADamagedCopy(t *testing.T, f *fixture) blob.Hash {
	t.Helper()
	data := []byte("keep me safe")
	h := blob.Sum(data)
	_, err := f.store.Put(h, bytes.NewReader(data))
	require.NoError(t, err)
	path := filepath.Join(f.dir, "blobs", string(h[:2]), string(h))
	require.NoError(t, os.WriteFile(path, []byte("keep me s4fe"), 0o644))

	resp, _ := f.do(t, http.MethodPut, string(h), bytes.NewReader(data))
	assert.Equal(t, http.StatusCreated, resp.StatusCode, "a damaged copy must be replaced, not kept")
	_, body := f.do(t, http.MethodGet, string(h), nil)
	assert.Equal(t, string(data), body)
	return h
}

// A PUT of a stored blob whose copy cannot even be opened (a passing
// trouble, such as too many open files) learns nothing about the copy:
// it answers 500, without calling the copy damaged, and leaves it in
// service. Taking the failed open
// for damage would set a good copy aside, and if the upload then failed
// too, the copy the metadata server counts would be gone, unreported.
func TestPutKeepsACopyItCouldNotOpen(t *testing.T) {
	data := []byte("a good copy, briefly unopenable")
	h := blob.Sum(data)
	f := newFixture(t, dataserver.Options{Log: slog.New(slog.DiscardHandler)}, func(d blob.Store) blob.Store {
		return failing{Disk: d.(*blob.Disk), noOpen: h}
	})
	_, err := f.store.Put(h, bytes.NewReader(data))
	require.NoError(t, err)

	resp, body := f.do(t, http.MethodPut, string(h), bytes.NewReader(data))
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	assert.NotContains(t, body, "damaged", "the answer calls a copy that was never read damaged")
	q, err := f.store.Quarantined()
	require.NoError(t, err)
	assert.Empty(t, q, "a copy that could not be opened was set aside as damaged")
	_, err = f.store.Stat(h)
	assert.NoError(t, err, "the good copy is no longer served")
}

func TestRange(t *testing.T) {
	f := newFixture(t, dataserver.Options{}, nil)
	data := []byte("0123456789")
	h := string(blob.Sum(data))
	f.do(t, http.MethodPut, h, bytes.NewReader(data))

	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/blobs/"+h, nil)
	req.Header.Set("Range", "bytes=2-5")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.Equal(t, "2345", string(body))
	assert.Equal(t, "bytes 2-5/10", resp.Header.Get("Content-Range"))
}

func TestBadHash(t *testing.T) {
	f := newFixture(t, dataserver.Options{}, nil)
	for _, h := range []string{"abc", strings.Repeat("A", 64), strings.Repeat("0", 63) + "z", ".." + strings.Repeat("0", 62)} {
		for _, method := range []string{http.MethodGet, http.MethodPut} {
			resp, body := f.do(t, method, h, strings.NewReader("x"))
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s %q", method, h)
			assert.Contains(t, body, "not a SHA-256 hash")
		}
	}
	u, _ := f.store.Usage()
	assert.Equal(t, blob.Usage{}, u)
}

func TestNotFound(t *testing.T) {
	f := newFixture(t, dataserver.Options{}, nil)
	resp, _ := f.do(t, http.MethodGet, string(blob.Sum([]byte("never"))), nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestDigestMismatch(t *testing.T) {
	f := newFixture(t, dataserver.Options{}, nil)
	h := blob.Sum([]byte("what was promised"))
	resp, body := f.do(t, http.MethodPut, string(h), strings.NewReader("something else"))
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, body, "does not match")
	f.assertNothingStored(t, h)
}

func TestSizeLimit(t *testing.T) {
	f := newFixture(t, dataserver.Options{MaxBlobSize: 10}, nil)
	data := []byte("eleven byte")
	h := blob.Sum(data)

	t.Run("ContentLength", func(t *testing.T) {
		resp, _ := f.do(t, http.MethodPut, string(h), bytes.NewReader(data))
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		f.assertNothingStored(t, h)
	})
	t.Run("Chunked", func(t *testing.T) {
		// io.MultiReader hides the length: the body is sent chunked and
		// the limit can only be found while reading.
		resp, _ := f.do(t, http.MethodPut, string(h), io.MultiReader(bytes.NewReader(data)))
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		f.assertNothingStored(t, h)
	})
	t.Run("AtTheLimit", func(t *testing.T) {
		ten := data[:10]
		resp, _ := f.do(t, http.MethodPut, string(blob.Sum(ten)), bytes.NewReader(ten))
		assert.Equal(t, http.StatusCreated, resp.StatusCode)
	})
}

// startedStore tells the test when a Put has begun reading the body.
type startedStore struct {
	blob.Store
	once    sync.Once
	started chan struct{}
}

func (s *startedStore) Put(h blob.Hash, r io.Reader) (int64, error) {
	return s.Store.Put(h, &signalReader{r: r, signal: func() { s.once.Do(func() { close(s.started) }) }})
}

type signalReader struct {
	r      io.Reader
	signal func()
}

func (s *signalReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.signal()
	}
	return n, err
}

// A client that hangs up half way through an upload leaves no blob and
// no temporary file.
func TestClientDisconnectMidUpload(t *testing.T) {
	started := make(chan struct{})
	f := newFixture(t, dataserver.Options{}, func(s blob.Store) blob.Store {
		return &startedStore{Store: s, started: started}
	})
	data := bytes.Repeat([]byte("partial "), 100_000)
	h := blob.Sum(data)

	conn, err := net.Dial("tcp", f.srv.Listener.Addr().String())
	require.NoError(t, err)
	fmt.Fprintf(conn, "PUT /blobs/%s HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n\r\n", h, len(data))
	_, err = conn.Write(data[:len(data)/2])
	require.NoError(t, err)
	select {
	case <-started:
	case <-time.After(waitFor):
		t.Fatal("the data server never started reading the upload")
	}
	require.NoError(t, conn.Close())
	select {
	case <-f.done:
	case <-time.After(waitFor):
		t.Fatal("the handler did not return after the client hung up")
	}
	f.assertNothingStored(t, h)
}

// An upload whose body cannot be read to its end (shorter than its
// Content-Length, its sender's side of the connection closed; or not
// valid chunked coding) gets a 400 and leaves nothing. Never a 200: a
// handler that writes nothing is answered 200 by net/http, and a 200
// to a PUT says the blob is here.
func TestUnreadableBodyIs400(t *testing.T) {
	data := []byte("0123456789")
	h := blob.Sum(data)
	for name, request := range map[string]string{
		"short":         fmt.Sprintf("Content-Length: %d\r\n\r\n%s", 2*len(data), data),
		"badly chunked": "Transfer-Encoding: chunked\r\n\r\nzz\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, dataserver.Options{}, nil)
			conn, err := net.Dial("tcp", f.srv.Listener.Addr().String())
			require.NoError(t, err)
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(waitFor)) // a bound on a hang, not a timing
			_, err = fmt.Fprintf(conn, "PUT /blobs/%s HTTP/1.1\r\nHost: test\r\n%s", h, request)
			require.NoError(t, err)
			require.NoError(t, conn.(*net.TCPConn).CloseWrite()) // nothing more will come
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", body)
			f.assertNothingStored(t, h)
		})
	}
}

// fakeMeta records the heartbeats it receives.
func fakeMeta(t *testing.T) (*httptest.Server, chan meta.Heartbeat) {
	beats := make(chan meta.Heartbeat, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var hb meta.Heartbeat
		if r.URL.Path != "/heartbeat" || json.NewDecoder(r.Body).Decode(&hb) != nil {
			http.Error(w, "bad heartbeat", http.StatusBadRequest)
			return
		}
		beats <- hb
	}))
	t.Cleanup(srv.Close)
	return srv, beats
}

func TestBeat(t *testing.T) {
	m, beats := fakeMeta(t)
	f := newFixture(t, dataserver.Options{Addr: "http://data-1", MetaURL: m.URL, Capacity: 1000}, nil)
	f.do(t, http.MethodPut, string(blob.Sum([]byte("12345"))), strings.NewReader("12345"))

	ds := dataserver.New(dataserver.Options{Store: f.store, ID: f.store.ID(), Addr: "http://data-1", MetaURL: m.URL, Capacity: 1000})
	require.NoError(t, ds.Beat(context.Background()))
	want := meta.Heartbeat{ID: f.store.ID(), Addr: "http://data-1", Capacity: 1000, Free: 995, Blobs: 1}
	if diff := cmp.Diff(want, <-beats); diff != "" {
		t.Errorf("heartbeat (-want +got):\n%s", diff)
	}
}

func TestBeatFailsClearly(t *testing.T) {
	ds := dataserver.New(dataserver.Options{Store: newFixture(t, dataserver.Options{}, nil).store, MetaURL: "http://127.0.0.1:1"})
	err := ds.Beat(context.Background())
	assert.ErrorContains(t, err, "heartbeat")
}

// Run beats once at start and once per tick; the test drives the ticks.
func TestRunBeatsOnEveryTick(t *testing.T) {
	m, beats := fakeMeta(t)
	ds := dataserver.New(dataserver.Options{Store: newFixture(t, dataserver.Options{}, nil).store, Addr: "http://d", MetaURL: m.URL})
	ticks := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { ds.Run(ctx, ticks); close(stopped) }()

	for i := range 3 {
		if i > 0 {
			ticks <- time.Time{}
		}
		select {
		case hb := <-beats:
			assert.Equal(t, "http://d", hb.Addr)
		case <-time.After(waitFor):
			t.Fatalf("no heartbeat %d", i)
		}
	}
	cancel()
	<-stopped
	assert.Empty(t, beats, "heartbeats without ticks")
}

// A data server started before its metadata server (or while it
// restarts) logs each failed beat and goes on beating: the first beat the
// metadata server takes makes it known. Run must not stop at a failure.
func TestRunGoesOnAfterAFailedBeat(t *testing.T) {
	var up atomic.Bool // the metadata server refuses beats until up
	beats := make(chan meta.Heartbeat, 10)
	m := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var hb meta.Heartbeat
		if !up.Load() || json.NewDecoder(r.Body).Decode(&hb) != nil {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		beats <- hb
	}))
	t.Cleanup(m.Close)
	var logs bytes.Buffer // written by Run only, read after it returns
	ds := dataserver.New(dataserver.Options{
		Store: newFixture(t, dataserver.Options{}, nil).store, Addr: "http://d", MetaURL: m.URL,
		Log: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	ticks := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { ds.Run(ctx, ticks); close(stopped) }()

	tick := func() { // taken once Run's beat before it is done
		select {
		case ticks <- time.Time{}:
		case <-stopped:
			t.Fatalf("Run stopped after a failed beat:\n%s", logs.String())
		}
	}
	tick() // after the first beat, refused
	tick() // after the second
	up.Store(true)
	tick()
	select {
	case hb := <-beats:
		assert.Equal(t, "http://d", hb.Addr)
	case <-time.After(waitFor):
		t.Fatal("no heartbeat once the metadata server took them: Run stopped after a failure")
	}
	cancel()
	<-stopped
	assert.Equal(t, 2, strings.Count(logs.String(), "heartbeat failed"), "one warning per refused beat:\n%s", logs.String())
}

// Every answer names the data server (meta.ServerIDHeader), errors too:
// the metadata server checks that the server it meant answered, not
// another one that took over the address.
func TestEveryAnswerNamesTheServer(t *testing.T) {
	f := newFixture(t, dataserver.Options{ID: "ds-7"}, nil)
	data := "named"
	h := string(blob.Sum([]byte(data)))
	send := func(method, path string, body io.Reader) *http.Response {
		req, err := http.NewRequest(method, f.srv.URL+path, body)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	for _, c := range []struct {
		method, path, body string
		code               int
	}{
		{http.MethodHead, "/blobs/" + h, "", http.StatusNotFound},
		{http.MethodPut, "/blobs/" + h, data, http.StatusCreated},
		{http.MethodPut, "/blobs/nothash", data, http.StatusBadRequest},
		{http.MethodGet, "/blobs/" + h, "", http.StatusOK},
		{http.MethodGet, "/blobs", "", http.StatusOK},
		{http.MethodPost, "/blobs/" + h + "/verify", "", http.StatusOK},
		{http.MethodPost, "/pull", "{", http.StatusBadRequest},
		{http.MethodDelete, "/blobs/" + h, "", http.StatusNoContent},
		{http.MethodGet, "/nowhere", "", http.StatusNotFound},
	} {
		resp := send(c.method, c.path, strings.NewReader(c.body))
		assert.Equal(t, c.code, resp.StatusCode, "%s %s", c.method, c.path)
		assert.Equal(t, "ds-7", resp.Header.Get(meta.ServerIDHeader), "%s %s", c.method, c.path)
	}
}

// A request that names another data server (meta.ServerIDHeader: the
// address changed hands since the metadata server last heard from it) is
// refused with 421 before it acts: a DELETE meant for the server that had
// this address removes nothing here. One naming this server, or none,
// is served.
func TestARequestForAnotherServerIsRefused(t *testing.T) {
	f := newFixture(t, dataserver.Options{ID: "ds-7"}, nil)
	data := "kept"
	h := blob.Sum([]byte(data))
	_, err := f.store.Put(h, strings.NewReader(data))
	require.NoError(t, err)
	del := func(id string) int {
		req, err := http.NewRequest(http.MethodDelete, f.srv.URL+"/blobs/"+string(h), nil)
		require.NoError(t, err)
		if id != "" {
			req.Header.Set(meta.ServerIDHeader, id)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, "ds-7", resp.Header.Get(meta.ServerIDHeader))
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusMisdirectedRequest, del("ds-8"))
	_, err = f.store.Stat(h)
	assert.NoError(t, err, "a DELETE meant for another server removed the blob")
	assert.Equal(t, http.StatusNoContent, del("ds-7"))
	_, err = f.store.Put(h, strings.NewReader(data))
	require.NoError(t, err)
	assert.Equal(t, http.StatusNoContent, del(""), "a request naming no server (an older metadata server)")
}
