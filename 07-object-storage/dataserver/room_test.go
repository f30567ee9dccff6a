package dataserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/dataserver"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// bytesOf is n bytes of content that differs with tag.
func bytesOf(tag string, n int) []byte {
	return []byte(strings.Repeat(tag, n)[:n])
}

// noReads fails the test if anything reads it: a write refused before
// its body is read.
type noReads struct{ t *testing.T }

func (r noReads) Read([]byte) (int, error) {
	r.t.Error("the body of a refused write was read")
	return 0, io.EOF
}

// assertNotStored checks that a refused write left no blob h and no
// temporary file.
func (f *fixture) assertNotStored(t *testing.T, h blob.Hash) {
	t.Helper()
	_, err := f.store.Stat(h)
	assert.ErrorIs(t, err, blob.ErrNotFound, "a refused write left a blob")
	n, err := f.store.TempFiles()
	require.NoError(t, err)
	assert.Zero(t, n, "a refused write left a temporary file")
}

// A server at its Capacity refuses a write that would take it past it
// with 507 Insufficient Storage, without reading the body when the
// request says its length, and stores nothing; a write that fits
// exactly is taken, and one of a blob already held needs no room.
func TestAWritePastTheCapacityIs507(t *testing.T) {
	f := newFixture(t, dataserver.Options{Capacity: 100}, nil)
	first := bytesOf("a", 60)
	resp, body := f.do(t, http.MethodPut, string(blob.Sum(first)), bytes.NewReader(first))
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)

	second := bytesOf("b", 41) // one byte more than the 40 left
	req := httptest.NewRequest(http.MethodPut, "/blobs/"+string(blob.Sum(second)), noReads{t})
	req.ContentLength = int64(len(second))
	w := httptest.NewRecorder()
	f.ds.ServeHTTP(w, req)
	assert.Equal(t, http.StatusInsufficientStorage, w.Code)
	assert.Contains(t, w.Body.String(), "41 bytes, 40 free of a capacity of 100: no room for the blob")
	f.assertNotStored(t, blob.Sum(second))

	resp, body = f.do(t, http.MethodPut, string(blob.Sum(first)), bytes.NewReader(first))
	assert.Equal(t, http.StatusOK, resp.StatusCode, "a blob already held takes no room: %s", body)

	fits := bytesOf("c", 40)
	resp, body = f.do(t, http.MethodPut, string(blob.Sum(fits)), bytes.NewReader(fits))
	assert.Equal(t, http.StatusCreated, resp.StatusCode, "exactly the room left: %s", body)
	u, err := f.store.Usage()
	require.NoError(t, err)
	assert.Equal(t, blob.Usage{Blobs: 2, Bytes: 100}, u)
}

// A body of unknown length (chunked) is counted as it comes: past the
// room left it is refused with 507, and nothing is kept.
func TestAChunkedWritePastTheCapacityIs507(t *testing.T) {
	f := newFixture(t, dataserver.Options{Capacity: 100}, nil)
	data := bytesOf("d", 101)
	req, err := http.NewRequest(http.MethodPut, f.srv.URL+"/blobs/"+string(blob.Sum(data)), io.MultiReader(bytes.NewReader(data))) // no length: chunked
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusInsufficientStorage, resp.StatusCode, string(msg))
	<-f.done
	f.assertNotStored(t, blob.Sum(data))

	fits := bytesOf("e", 100)
	req, err = http.NewRequest(http.MethodPut, f.srv.URL+"/blobs/"+string(blob.Sum(fits)), io.MultiReader(bytes.NewReader(fits)))
	require.NoError(t, err)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusCreated, resp.StatusCode, "a chunked body that fits")
}

// Uploads under way hold their room: while one is being read, a second
// that fits beside what is stored but not beside it is refused, and the
// heartbeat's free space leaves it out. Once the first is over, its room
// is counted once, as stored.
func TestAnUploadUnderWayHoldsItsRoom(t *testing.T) {
	m, beats := fakeMeta(t)
	started := make(chan struct{})
	f := newFixture(t, dataserver.Options{Capacity: 100, ID: "ds", Addr: "http://ds", MetaURL: m.URL},
		func(s blob.Store) blob.Store { return &startedStore{Store: s, started: started} })
	first := bytesOf("f", 60)
	pw, answered := heldUpload(t, f, started, first) // its room was taken before

	require.NoError(t, f.ds.Beat(context.Background()))
	assert.Equal(t, int64(40), (<-beats).Free, "free space with 60 bytes reserved")
	second := bytesOf("g", 41)
	resp, body := f.do(t, http.MethodPut, string(blob.Sum(second)), bytes.NewReader(second))
	assert.Equal(t, http.StatusInsufficientStorage, resp.StatusCode, body)

	_, err := pw.Write(first[1:])
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	assert.Equal(t, http.StatusCreated, <-answered)
	<-f.done
	<-f.done
	require.NoError(t, f.ds.Beat(context.Background()))
	assert.Equal(t, int64(40), (<-beats).Free, "free space with the 60 bytes stored")
	fits := bytesOf("h", 40)
	resp, body = f.do(t, http.MethodPut, string(blob.Sum(fits)), bytes.NewReader(fits))
	assert.Equal(t, http.StatusCreated, resp.StatusCode, body)
}

// A refused or failed upload gives its room back.
func TestAFailedUploadGivesItsRoomBack(t *testing.T) {
	f := newFixture(t, dataserver.Options{Capacity: 100}, nil)
	data := bytesOf("i", 100)
	wrong := blob.Sum([]byte("other content"))
	resp, _ := f.do(t, http.MethodPut, string(wrong), bytes.NewReader(data))
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "a digest mismatch")
	chunked := bytesOf("j", 150)
	req, err := http.NewRequest(http.MethodPut, f.srv.URL+"/blobs/"+string(blob.Sum(chunked)), io.MultiReader(bytes.NewReader(chunked)))
	require.NoError(t, err)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusInsufficientStorage, resp.StatusCode, "a chunked body refused part way")
	<-f.done
	resp, body := f.do(t, http.MethodPut, string(blob.Sum(data)), bytes.NewReader(data))
	assert.Equal(t, http.StatusCreated, resp.StatusCode, "all 100 bytes free again: %s", body)
}

// A Capacity of 0 sets no limit, and the heartbeat says capacity 0.
func TestNoCapacityIsNoLimit(t *testing.T) {
	m, beats := fakeMeta(t)
	f := newFixture(t, dataserver.Options{MetaURL: m.URL}, nil)
	data := bytesOf("k", 1000)
	resp, body := f.do(t, http.MethodPut, string(blob.Sum(data)), bytes.NewReader(data))
	assert.Equal(t, http.StatusCreated, resp.StatusCode, body)
	require.NoError(t, f.ds.Beat(context.Background()))
	hb := <-beats
	assert.Zero(t, hb.Capacity)
	assert.True(t, hb.HasRoom(1<<40))
}

// fullDisk is a store on a disk with no space left (ENOSPC), or over a
// user's quota (EDQUOT).
type fullDisk struct {
	blob.Store
	errno syscall.Errno
}

func (d fullDisk) Put(h blob.Hash, r io.Reader) (int64, error) {
	io.Copy(io.Discard, r)
	return 0, fmt.Errorf("blob: write /data/tmp/put-1: %w", d.errno)
}

// A disk that is full answers 507 too, whatever the capacity: the writer
// takes another server, and does not blame its request.
func TestAFullDiskIs507(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT} {
		t.Run(errno.Error(), func(t *testing.T) {
			f := newFixture(t, dataserver.Options{}, func(s blob.Store) blob.Store { return fullDisk{s, errno} })
			data := []byte("no space")
			resp, body := f.do(t, http.MethodPut, string(blob.Sum(data)), bytes.NewReader(data))
			assert.Equal(t, http.StatusInsufficientStorage, resp.StatusCode)
			assert.Contains(t, body, errno.Error())
		})
	}
}

// A pull (repair's copy) is held to the capacity too: 507, before a byte
// is copied when the source says the size, and nothing stored.
func TestAPullPastTheCapacityIs507(t *testing.T) {
	src := newFixture(t, dataserver.Options{}, nil)
	data := bytesOf("l", 101)
	h := blob.Sum(data)
	_, err := src.store.Put(h, bytes.NewReader(data))
	require.NoError(t, err)
	lim := &counter{}
	dst := newFixture(t, dataserver.Options{Capacity: 100, CopyLimiter: lim}, nil)
	body, _ := json.Marshal(meta.Pull{Hash: h, From: src.srv.URL})
	resp, err := http.Post(dst.srv.URL+"/pull", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusInsufficientStorage, resp.StatusCode)
	assert.Zero(t, lim.bytes, "bytes copied from the source before the refusal")
	dst.assertNotStored(t, h)
}

// panicky is a store whose Put panics after reading its body, as a
// learner's store with a bug may.
type panicky struct{ blob.Store }

func (panicky) Put(_ blob.Hash, r io.Reader) (int64, error) {
	io.Copy(io.Discard, r)
	panic("a bug in the store")
}

// An upload whose store panics gives its room back too: net/http
// recovers a handler's panic and serves on, and room held by it for
// good would refuse every later write as if the server were full.
func TestAPanickingUploadGivesItsRoomBack(t *testing.T) {
	m, beats := fakeMeta(t)
	f := newFixture(t, dataserver.Options{Capacity: 100, ID: "ds", Addr: "http://ds", MetaURL: m.URL},
		func(s blob.Store) blob.Store { return panicky{s} })
	data := bytesOf("p", 60)
	src := newFixture(t, dataserver.Options{}, nil)
	_, err := src.store.Put(blob.Sum(data), bytes.NewReader(data))
	require.NoError(t, err)
	pull, _ := json.Marshal(meta.Pull{Hash: blob.Sum(data), From: src.srv.URL})
	for _, req := range []*http.Request{
		httptest.NewRequest(http.MethodPut, "/blobs/"+string(blob.Sum(data)), bytes.NewReader(data)),
		httptest.NewRequest(http.MethodPost, "/pull", bytes.NewReader(pull)),
	} {
		t.Run(req.Method, func(t *testing.T) {
			assert.Panics(t, func() { f.ds.ServeHTTP(httptest.NewRecorder(), req) })
			require.NoError(t, f.ds.Beat(context.Background()))
			assert.Equal(t, int64(100), (<-beats).Free, "room held after the upload panicked")
		})
	}
}

// An upload that finds, once it has read its body, that the blob was
// stored meanwhile (another upload of it finished first) adds no bytes:
// the store counts the blob once, and the upload's room is given back.
func TestAnUploadOfABlobStoredMeanwhileCountsOnce(t *testing.T) {
	m, beats := fakeMeta(t)
	started := make(chan struct{})
	f := newFixture(t, dataserver.Options{Capacity: 100, ID: "ds", Addr: "http://ds", MetaURL: m.URL},
		func(s blob.Store) blob.Store { return &startedStore{Store: s, started: started} })
	data := bytesOf("m", 30)
	pw, answered := heldUpload(t, f, started, data)
	_, err := f.store.Put(blob.Sum(data), bytes.NewReader(data)) // the other upload
	require.NoError(t, err)
	_, err = pw.Write(data[1:])
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	assert.Equal(t, http.StatusCreated, <-answered)
	<-f.done

	u, err := f.store.Usage()
	require.NoError(t, err)
	assert.Equal(t, blob.Usage{Blobs: 1, Bytes: 30}, u)
	require.NoError(t, f.ds.Beat(context.Background()))
	assert.Equal(t, int64(70), (<-beats).Free)
}

// heldUpload PUTs data to f with its length declared, sends its first
// byte, and returns once the store has begun to read the body (started,
// closed by a startedStore): the upload is under way, its room taken.
// The caller writes the rest to pw, closes it, and reads the status from
// answered (0 if the request failed).
func heldUpload(t *testing.T, f *fixture, started <-chan struct{}, data []byte) (pw *io.PipeWriter, answered <-chan int) {
	t.Helper()
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPut, f.srv.URL+"/blobs/"+string(blob.Sum(data)), pr)
	require.NoError(t, err)
	req.ContentLength = int64(len(data))
	status := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			status <- 0
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	_, err = pw.Write(data[:1])
	require.NoError(t, err)
	<-started
	return pw, status
}
