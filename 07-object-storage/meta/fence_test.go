package meta_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// lateDeletes stands in for data servers whose Remove waits on their
// store's lock: every DELETE of blob hash is held back, and GC is told
// it timed out, as it would be after its deadline. release sends the
// held DELETEs on, late, as the data servers would carry them out.
type lateDeletes struct {
	hash blob.Hash
	mu   sync.Mutex
	held []*http.Request
}

func (l *lateDeletes) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodDelete && strings.HasSuffix(req.URL.Path, "/"+string(l.hash)) {
		l.mu.Lock()
		l.held = append(l.held, req.Clone(context.Background()))
		l.mu.Unlock()
		return nil, context.DeadlineExceeded
	}
	return http.DefaultTransport.RoundTrip(req)
}

// release carries out the held DELETEs and returns their answers.
func (l *lateDeletes) release(t *testing.T) []int {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var codes []int
	for _, req := range l.held {
		resp, err := http.DefaultTransport.RoundTrip(req)
		require.NoError(t, err)
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	l.held = nil
	return codes
}

// condemnLate stores data as version 1 of "k", replaces it, and runs GC
// until it condemns data's blob: its DELETEs, one per server, are held
// by late. It returns version 1.
func condemnLate(t *testing.T, cl *storetest.Cluster, c interface {
	Put(context.Context, string, io.Reader) (meta.Version, error)
}, late *lateDeletes, data string) meta.Version {
	t.Helper()
	v1, err := c.Put(bg, "k", strings.NewReader(data))
	require.NoError(t, err)
	late.hash = v1.Hash
	_, err = c.Put(bg, "k", strings.NewReader("newer"))
	require.NoError(t, err)
	require.Equal(t, 1, gc(t, cl).Pruned)
	cl.Clock.Add(2 * time.Hour)
	cl.Beat()
	rep := gc(t, cl)
	require.Equal(t, 1, rep.Deleted, "the blob forgotten")
	require.Zero(t, rep.Copies, "no DELETE answered in time")
	late.mu.Lock()
	defer late.mu.Unlock()
	require.Len(t, late.held, 2, "DELETEs held, one per copy")
	return v1
}

// GC gives up on DELETEs that the data servers carry out later. If the
// same content is put and committed in between, the data servers fence
// the copies (a PUT of a blob already stored, a commit's confirming
// HEAD), and the late DELETEs are refused: the new version reads back.
// If the DELETEs come first, the write finds no copy and uploads again.
func TestGCLateDeleteSparesACopyPutAgain(t *testing.T) {
	const data = "put again while GC's DELETE waits"
	for _, tc := range []struct {
		name   string
		before bool // the DELETEs are carried out before the put
		want   int  // what they answer
	}{
		{"delete after the commit", false, http.StatusPreconditionFailed},
		{"delete before the put", true, http.StatusNoContent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			late := &lateDeletes{}
			cl, c := store(t, 2, meta.Options{KeepVersions: 1, GCGrace: time.Hour, Client: &http.Client{Transport: late}})
			v1 := condemnLate(t, cl, c, late, data)
			var codes []int
			if tc.before {
				codes = late.release(t)
			}
			_, err := c.Put(bg, "k2", strings.NewReader(data))
			require.NoError(t, err)
			if !tc.before {
				codes = late.release(t)
			}
			assert.Equal(t, []int{tc.want, tc.want}, codes, "the late DELETEs' answers")
			assert.Equal(t, 2, onDisk(cl, v1.Hash), "copies of the version just committed")
			assert.Equal(t, data, content(t, c, "k2"))
		})
	}
}

// A commit that names copies it did not upload (a deduplicated write)
// is fenced by the commit's confirming HEADs alone.
func TestGCLateDeleteSparesACopyACommitConfirms(t *testing.T) {
	const data = "committed, not uploaded, while GC's DELETE waits"
	late := &lateDeletes{}
	cl, c := store(t, 2, meta.Options{KeepVersions: 1, GCGrace: time.Hour, Client: &http.Client{Transport: late}})
	v1 := condemnLate(t, cl, c, late, data)

	body, _ := json.Marshal(meta.CommitRequest{Key: "k2", Hash: v1.Hash, Size: v1.Size, Replicas: v1.Replicas})
	resp, err := http.Post(cl.MetaURL+"/commits", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode, "the commit")

	assert.Equal(t, []int{http.StatusPreconditionFailed, http.StatusPreconditionFailed}, late.release(t))
	assert.Equal(t, 2, onDisk(cl, v1.Hash))
	assert.Equal(t, data, content(t, c, "k2"))
}

// A DELETE refused because the copy was used since the inventory means
// "kept", not "this server fails": GC goes on deleting other blobs on
// that server in the same call, and a later collection deletes the kept
// copy if it is still garbage then.
func TestGCKeepsACopyUsedSinceItsInventory(t *testing.T) {
	var cl *storetest.Cluster
	var reused blob.Hash // the first condemned blob: put again on server 0 just before its DELETE
	var data = map[blob.Hash]string{}
	reuse := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if req.Method == http.MethodDelete && req.URL.Host == strings.TrimPrefix(cl.Data[0].URL(), "http://") &&
			strings.HasSuffix(req.URL.Path, "/"+string(reused)) {
			put, _ := http.NewRequest(http.MethodPut, cl.Data[0].URL()+"/blobs/"+string(reused), strings.NewReader(data[reused]))
			resp, err := http.DefaultTransport.RoundTrip(put)
			if err != nil {
				return nil, err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return nil, errors.New("the PUT that uses the copy again: " + resp.Status)
			}
		}
		return http.DefaultTransport.RoundTrip(req)
	})
	cl, c := store(t, 2, meta.Options{KeepVersions: 1, GCGrace: time.Hour, Client: &http.Client{Transport: reuse}})
	var hashes []blob.Hash
	for _, s := range []string{"garbage one", "garbage two", "kept"} {
		v, err := c.Put(bg, "k", strings.NewReader(s))
		require.NoError(t, err)
		data[v.Hash] = s
		hashes = append(hashes, v.Hash)
	}
	a, b := min(hashes[0], hashes[1]), max(hashes[0], hashes[1]) // GC deletes in hash order
	require.Equal(t, 2, gc(t, cl).Pruned)
	cl.Clock.Add(2 * time.Hour)
	cl.Beat()
	meta.SetGCBatch(cl.Meta(), 1)
	reused = a
	rep := gc(t, cl)
	reused = ""
	assert.Equal(t, 2, rep.Deleted)
	assert.Equal(t, 3, rep.Copies, "copies deleted: the one used again is kept")
	assert.True(t, cl.Data[0].Has(a), "the copy used again")
	assert.Zero(t, onDisk(cl, b), "the next blob's copies, on the same server too")

	gc(t, cl) // finds it on the disk: garbage from now
	cl.Clock.Add(2 * time.Hour)
	cl.Beat()
	assert.Equal(t, 1, gc(t, cl).Copies)
	assert.Zero(t, onDisk(cl, a))
}

// GC deletes only copies an inventory listed, with their stamps: a
// server that sent no inventory is sent no DELETE (one without a stamp
// could remove a copy used again after GC gave up on it), and its copy is
// garbage that a later collection finds. A server whose store cannot
// list its blobs (501) is sent a DELETE without a stamp for its recorded
// copy, as before stamps.
func TestGCDeletesOnlyListedCopies(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answer  func() (*http.Response, error) // server 0's inventory
		deletes []string                       // sent to server 0, by their StampHeader
	}{
		{"no answer", func() (*http.Response, error) { return nil, errors.New("no inventory from this server") }, nil},
		{"cannot list", func() (*http.Response, error) {
			return &http.Response{StatusCode: http.StatusNotImplemented, Body: http.NoBody}, nil
		}, []string{""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cl *storetest.Cluster
			var mu sync.Mutex
			var silent bool      // server 0 answers tc.answer for its inventory
			var deletes []string // StampHeader of each DELETE sent to server 0
			watch := roundTripFunc(func(req *http.Request) (*http.Response, error) {
				mu.Lock()
				defer mu.Unlock()
				if req.URL.Host == strings.TrimPrefix(cl.Data[0].URL(), "http://") {
					switch {
					case req.Method == http.MethodGet && req.URL.Path == "/blobs" && silent:
						return tc.answer()
					case req.Method == http.MethodDelete:
						deletes = append(deletes, req.Header.Get(meta.StampHeader))
					}
				}
				return http.DefaultTransport.RoundTrip(req)
			})
			cl, c := store(t, 2, meta.Options{KeepVersions: 1, GCGrace: time.Hour, Client: &http.Client{Transport: watch}})
			v1 := replacedPastGrace(t, cl, c)

			mu.Lock()
			silent = true
			mu.Unlock()
			rep := gc(t, cl)
			assert.Equal(t, 1, rep.Deleted)
			mu.Lock()
			silent = false
			assert.Equal(t, tc.deletes, deletes, "DELETEs sent to server 0")
			mu.Unlock()
			if tc.deletes != nil {
				assert.Equal(t, 2, rep.Copies)
				assert.Zero(t, onDisk(cl, v1.Hash))
				return
			}
			assert.Equal(t, 1, rep.Copies, "the copy on the server that listed it")
			assert.True(t, cl.Data[0].Has(v1.Hash))

			gc(t, cl)
			cl.Clock.Add(2 * time.Hour)
			cl.Beat()
			assert.Equal(t, 1, gc(t, cl).Copies, "found again, and deleted after its grace period")
			assert.Zero(t, onDisk(cl, v1.Hash))
		})
	}
}

// A stamp of 0 is a stamp: an inventory that lists a copy with "stamp": 0
// (a store whose stamps count from zero) gets a DELETE that names it, so
// the data server still refuses it if the copy was counted since. Here
// server 0's store keeps other stamps, so it refuses: read as "no stamp",
// the DELETE would have removed the copy unfenced.
func TestGCSendsAStampOfZero(t *testing.T) {
	var cl *storetest.Cluster
	var mu sync.Mutex
	var listZero blob.Hash // server 0 lists this blob with stamp 0
	var deletes []string   // StampHeader of each DELETE sent to server 0
	watch := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		mu.Lock()
		defer mu.Unlock()
		if req.URL.Host == strings.TrimPrefix(cl.Data[0].URL(), "http://") {
			switch {
			case req.Method == http.MethodGet && req.URL.Path == "/blobs" && listZero != "":
				body := `[{"hash":"` + string(listZero) + `","size":3,"stamp":0}]`
				return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body))}, nil
			case req.Method == http.MethodDelete:
				_, stamped := req.Header[meta.StampHeader]
				deletes = append(deletes, fmt.Sprintf("%v %q", stamped, req.Header.Get(meta.StampHeader)))
			}
		}
		return http.DefaultTransport.RoundTrip(req)
	})
	cl, c := store(t, 2, meta.Options{KeepVersions: 1, GCGrace: time.Hour, Client: &http.Client{Transport: watch}})
	v1 := replacedPastGrace(t, cl, c)

	mu.Lock()
	listZero = v1.Hash
	mu.Unlock()
	rep := gc(t, cl)
	mu.Lock()
	listZero = ""
	assert.Equal(t, []string{`true "0"`}, deletes, "DELETEs sent to server 0")
	mu.Unlock()
	assert.Equal(t, 1, rep.Deleted)
	assert.Equal(t, 1, rep.Copies, "the copy on server 1; server 0 refused a stamp that is not its copy's")
	assert.True(t, cl.Data[0].Has(v1.Hash), "an unfenced DELETE removed the copy")
}
