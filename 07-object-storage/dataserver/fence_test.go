package dataserver_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/blob/blobtest"
	"github.com/gocourse/gateway/07-object-storage/dataserver"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// listed returns the inventory's entry for h.
func (f *fixture) listed(t *testing.T, h blob.Hash) meta.Stored {
	t.Helper()
	resp, err := http.Get(f.srv.URL + "/blobs")
	require.NoError(t, err)
	defer resp.Body.Close()
	var list []meta.Stored
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
	for _, st := range list {
		if st.Hash == h {
			return st
		}
	}
	t.Fatalf("blob %s not in the inventory", h.Short())
	return meta.Stored{}
}

// send sends a request for blob h with header set.
func (f *fixture) send(t *testing.T, method string, h blob.Hash, body []byte, header ...string) int {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+"/blobs/"+string(h), bytes.NewReader(body))
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func stampOf(st meta.Stored) string { return strconv.FormatInt(*st.Stamp, 10) }

// GC's DELETE names the stamp its inventory listed. Every answer that
// lets a copy be counted moves the stamp first, so a DELETE sent before
// it is refused with 412 and the copy stays; a reader's GET or HEAD does
// not, and a DELETE with the current stamp removes the copy.
func TestDeleteIsRefusedAfterTheCopyIsCounted(t *testing.T) {
	data := []byte("counted again")
	h := blob.Sum(data)
	for _, tc := range []struct {
		name    string
		act     func(t *testing.T, f *fixture) int
		want    int  // the act's answer
		refused bool // the DELETE that was sent before it
	}{
		{"put again", func(t *testing.T, f *fixture) int { return f.send(t, http.MethodPut, h, data) }, http.StatusOK, true},
		{"confirming HEAD", func(t *testing.T, f *fixture) int {
			return f.send(t, http.MethodHead, h, nil, meta.ConfirmHeader, "1")
		}, http.StatusOK, true},
		{"verify", func(t *testing.T, f *fixture) int { return f.send(t, http.MethodPost, h+"/verify", nil) }, http.StatusOK, true},
		{"pull of a copy held", func(t *testing.T, f *fixture) int {
			body, _ := json.Marshal(meta.Pull{Hash: h, From: f.srv.URL})
			resp, err := http.Post(f.srv.URL+"/pull", "application/json", bytes.NewReader(body))
			require.NoError(t, err)
			resp.Body.Close()
			return resp.StatusCode
		}, http.StatusOK, true},
		{"reader's HEAD", func(t *testing.T, f *fixture) int { return f.send(t, http.MethodHead, h, nil) }, http.StatusOK, false},
		{"reader's GET", func(t *testing.T, f *fixture) int { return f.send(t, http.MethodGet, h, nil) }, http.StatusOK, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, dataserver.Options{}, nil)
			require.Equal(t, http.StatusCreated, f.send(t, http.MethodPut, h, data))
			seen := f.listed(t, h)
			require.NotNil(t, seen.Stamp, "the inventory lists no stamp")
			require.Equal(t, tc.want, tc.act(t, f))
			got := f.send(t, http.MethodDelete, h, nil, meta.StampHeader, stampOf(seen))
			if !tc.refused {
				assert.Equal(t, http.StatusNoContent, got, "a DELETE with the current stamp")
				f.assertNothingStored(t, h)
				return
			}
			assert.Equal(t, http.StatusPreconditionFailed, got, "a DELETE with the stamp from before")
			_, err := f.store.Stat(h)
			require.NoError(t, err, "the refused DELETE removed the copy")
			assert.Equal(t, http.StatusNoContent, f.send(t, http.MethodDelete, h, nil, meta.StampHeader, stampOf(f.listed(t, h))),
				"a DELETE with the stamp listed now")
			f.assertNothingStored(t, h)
		})
	}
}

// The other order: the DELETE comes first, so the confirming HEAD finds
// no copy and a PUT stores the blob anew.
func TestDeleteBeforeTheConfirmation(t *testing.T) {
	f := newFixture(t, dataserver.Options{}, nil)
	data := []byte("deleted first")
	h := blob.Sum(data)
	require.Equal(t, http.StatusCreated, f.send(t, http.MethodPut, h, data))
	require.Equal(t, http.StatusNoContent, f.send(t, http.MethodDelete, h, nil, meta.StampHeader, stampOf(f.listed(t, h))))
	assert.Equal(t, http.StatusNotFound, f.send(t, http.MethodHead, h, nil, meta.ConfirmHeader, "1"))
	assert.Equal(t, http.StatusCreated, f.send(t, http.MethodPut, h, data), "the write uploads the blob again")
}

// A DELETE without a stamp (from a metadata server that sends none)
// removes the copy whatever its stamp, as before; one whose stamp is not
// a number is a 400 and removes nothing.
func TestDeleteWithoutAStamp(t *testing.T) {
	f := newFixture(t, dataserver.Options{}, nil)
	data := []byte("no stamp")
	h := blob.Sum(data)
	require.Equal(t, http.StatusCreated, f.send(t, http.MethodPut, h, data))
	assert.Equal(t, http.StatusBadRequest, f.send(t, http.MethodDelete, h, nil, meta.StampHeader, "yesterday"))
	require.Equal(t, http.StatusOK, f.send(t, http.MethodPut, h, data), "the copy used again")
	assert.Equal(t, http.StatusNoContent, f.send(t, http.MethodDelete, h, nil))
	f.assertNothingStored(t, h)
}

// plainStore hides blob.Disk's optional interfaces but Walker: a store
// as a learner may write it, with no stamps.
type plainStore struct {
	blob.Store
	blob.Walker
}

// A store that is not a blob.Stamper lists no stamps and carries out
// every DELETE, stamped or not: the window the fence closes stays open
// on it, and nothing else changes.
func TestStoreWithoutStamps(t *testing.T) {
	f := newFixture(t, dataserver.Options{}, func(s blob.Store) blob.Store { return plainStore{s, s.(blob.Walker)} })
	data := []byte("a plain store")
	h := blob.Sum(data)
	require.Equal(t, http.StatusCreated, f.send(t, http.MethodPut, h, data))
	seen := f.listed(t, h)
	assert.Nil(t, seen.Stamp, "a stamp from a store that keeps none")
	assert.Equal(t, http.StatusOK, f.send(t, http.MethodPut, h, data))
	assert.Equal(t, http.StatusOK, f.send(t, http.MethodHead, h, nil, meta.ConfirmHeader, "1"))
	assert.Equal(t, http.StatusNoContent, f.send(t, http.MethodDelete, h, nil, meta.StampHeader, "12345"))
	f.assertNothingStored(t, h)
}

// A stamp of 0 is a stamp. A store whose stamps count from zero lists a
// fresh copy with "stamp": 0, not with none: read as none, GC's DELETE
// would go unfenced and remove the copy after a confirming HEAD had
// counted it.
func TestAStampOfZeroIsAStamp(t *testing.T) {
	f := newFixture(t, dataserver.Options{}, func(s blob.Store) blob.Store {
		return blobtest.NewCountingStamps(s.(*blob.Disk))
	})
	data := []byte("stamped zero")
	h := blob.Sum(data)
	require.Equal(t, http.StatusCreated, f.send(t, http.MethodPut, h, data))
	seen := f.listed(t, h)
	require.NotNil(t, seen.Stamp, "the inventory lists no stamp for a copy whose stamp is 0")
	assert.Zero(t, *seen.Stamp)
	require.Equal(t, http.StatusOK, f.send(t, http.MethodHead, h, nil, meta.ConfirmHeader, "1"))
	assert.Equal(t, http.StatusPreconditionFailed, f.send(t, http.MethodDelete, h, nil, meta.StampHeader, stampOf(seen)))
	_, err := f.store.Stat(h)
	assert.NoError(t, err, "the refused DELETE removed the copy")
}

// answer sends a request for blob h (path after /blobs/, or "/pull")
// with header set and returns its status and the stamp it names.
func (f *fixture) answer(t *testing.T, method, path string, body []byte, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get(meta.StampHeader)
}

// Every answer that lets a copy be counted names the stamp it moved the
// copy to, which the inventory lists from then on: repair's trim sends it
// back with its DELETE, so that only a confirmation after this answer
// keeps the copy. A reader's GET or HEAD names none, and neither does a
// store without stamps.
func TestCountingAnswersNameTheNewStamp(t *testing.T) {
	data := []byte("named stamp")
	h := blob.Sum(data)
	pull, _ := json.Marshal(meta.Pull{Hash: h, From: "http://127.0.0.1:1"}) // held: the source is never asked
	for _, tc := range []struct {
		name         string
		method, path string
		body         []byte
		header       []string
		names        bool
	}{
		{"put again", http.MethodPut, "/blobs/" + string(h), data, nil, true},
		{"confirming HEAD", http.MethodHead, "/blobs/" + string(h), nil, []string{meta.ConfirmHeader, "1"}, true},
		{"verify", http.MethodPost, "/blobs/" + string(h) + "/verify", nil, nil, true},
		{"pull of a copy held", http.MethodPost, "/pull", pull, nil, true},
		{"reader's HEAD", http.MethodHead, "/blobs/" + string(h), nil, nil, false},
		{"reader's GET", http.MethodGet, "/blobs/" + string(h), nil, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, dataserver.Options{}, nil)
			require.Equal(t, http.StatusCreated, f.send(t, http.MethodPut, h, data))
			before := stampOf(f.listed(t, h))
			code, named := f.answer(t, tc.method, tc.path, tc.body, tc.header...)
			require.Equal(t, http.StatusOK, code)
			if !tc.names {
				assert.Empty(t, named, "a reader's answer names a stamp")
				return
			}
			assert.Equal(t, stampOf(f.listed(t, h)), named, "the stamp named, against the one listed after")
			assert.NotEqual(t, before, named, "the stamp named is the one from before")
			assert.Equal(t, http.StatusNoContent, f.send(t, http.MethodDelete, h, nil, meta.StampHeader, named), "a DELETE with the stamp named")
			f.assertNothingStored(t, h)
		})
	}
	t.Run("store without stamps", func(t *testing.T) {
		f := newFixture(t, dataserver.Options{}, func(s blob.Store) blob.Store { return plainStore{s, s.(blob.Walker)} })
		require.Equal(t, http.StatusCreated, f.send(t, http.MethodPut, h, data))
		code, named := f.answer(t, http.MethodPost, "/blobs/"+string(h)+"/verify", nil)
		require.Equal(t, http.StatusOK, code)
		assert.Empty(t, named)
	})
}

// goneAtSync is a blob.Disk whose copy is removed (as by a DELETE
// without a stamp) between the touch that moved its stamp and the sync
// that would make it durable: the first SyncBlob removes it first.
type goneAtSync struct {
	*blob.Disk
	once sync.Once
}

func (g *goneAtSync) SyncBlob(h blob.Hash) error {
	g.once.Do(func() { g.Disk.Remove(h) })
	return g.Disk.SyncBlob(h)
}

// An answer names a stamp only for the copy it lets be counted. One that
// moved a copy's stamp and then found the copy gone names none: not on
// the 201 of the upload stored in its place, nor on a 404 or a 502.
func TestAnAnswerForACopyGoneNamesNoStamp(t *testing.T) {
	data := []byte("gone at the sync")
	h := blob.Sum(data)
	pull, _ := json.Marshal(meta.Pull{Hash: h, From: "http://127.0.0.1:1"})
	for _, tc := range []struct {
		name         string
		method, path string
		body         []byte
		header       []string
		code         int
	}{
		{"put again", http.MethodPut, "/blobs/" + string(h), data, nil, http.StatusCreated},
		{"confirming HEAD", http.MethodHead, "/blobs/" + string(h), nil, []string{meta.ConfirmHeader, "1"}, http.StatusNotFound},
		{"verify", http.MethodPost, "/blobs/" + string(h) + "/verify", nil, nil, http.StatusNotFound},
		{"pull of a copy held", http.MethodPost, "/pull", pull, nil, http.StatusBadGateway},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, dataserver.Options{}, func(s blob.Store) blob.Store { return &goneAtSync{Disk: s.(*blob.Disk)} })
			_, err := f.store.Put(h, bytes.NewReader(data))
			require.NoError(t, err)
			code, named := f.answer(t, tc.method, tc.path, tc.body, tc.header...)
			assert.Equal(t, tc.code, code)
			assert.Empty(t, named, "the answer names the stamp of a copy that is gone")
		})
	}
}
