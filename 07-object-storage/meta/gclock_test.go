package meta_test

import (
	"bytes"
	"encoding/json"
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
)

// unstamped makes every data server's inventory list no stamps, as a
// store that keeps none (a blob.Walker that is not a blob.Stamper) does:
// GC's DELETEs are then plain, and nothing on the data servers refuses
// one that comes after a commit counted the copy. At the first DELETE of
// hash it runs during (once), in a goroutine, and sends the DELETE on
// only once during is done or waits for GC's lock (waits).
type unstamped struct {
	hash   blob.Hash
	during func()
	waits  chan struct{} // closed by the GC-wait hook
	done   chan struct{} // closed when during returns
	once   sync.Once
}

func (u *unstamped) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodDelete && strings.HasSuffix(req.URL.Path, "/"+string(u.hash)) {
		u.once.Do(func() {
			go func() {
				defer close(u.done)
				u.during()
			}()
			select {
			case <-u.done:
			case <-u.waits:
			}
		})
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || req.URL.Path != "/blobs" || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	var list []meta.Stored
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	for i := range list {
		list[i].Stamp = nil
	}
	body, _ := json.Marshal(list)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// GC deletes copies while it holds the lock that commits take for
// reading, so a commit cannot count a copy GC is deleting. On a store
// that keeps no stamps nothing else stands in the way: a commit that
// confirmed the copies between GC's forgetting the blob and its DELETEs
// would record a version whose every copy is then deleted. Here the
// commit is sent at GC's first DELETE, waits for GC's lock, and then
// finds the copies gone: it is refused, and its writer uploads again.
func TestGCKeepsACommitOffTheCopiesItDeletes(t *testing.T) {
	u := &unstamped{waits: make(chan struct{}), done: make(chan struct{})}
	cl, c := store(t, 2, meta.Options{KeepVersions: 1, GCGrace: time.Hour, Client: &http.Client{Transport: u}})
	var waited sync.Once
	meta.SetGCWaitHook(cl.Meta(), func() { waited.Do(func() { close(u.waits) }) })
	old := replacedPastGrace(t, cl, c)
	code := 0
	u.hash = old.Hash
	u.during = func() {
		req, _ := json.Marshal(meta.CommitRequest{Key: "k2", Hash: old.Hash, Size: old.Size, Replicas: old.Replicas})
		resp, err := http.Post(cl.MetaURL+"/commits", "application/json", bytes.NewReader(req))
		if err != nil {
			return
		}
		resp.Body.Close()
		code = resp.StatusCode
	}

	rep := gc(t, cl)
	<-u.done
	require.Equal(t, 2, rep.Copies, "GC deleted both copies")
	require.NotZero(t, code, "the commit got no answer")
	assert.NotEqual(t, http.StatusCreated, code, "a version was committed whose copies GC deleted")
	select {
	case <-u.waits:
	default:
		t.Errorf("the commit sent during GC's DELETEs did not wait for GC's lock")
	}
}

// A placement made while GC deletes a blob waits for GC's lock too: sent
// once GC has looked at recent placements and found none for the blob,
// it would otherwise be answered with the copies about to be deleted as
// held, and a deduplicating writer would upload nothing. Its commit is
// then refused, and a streamed write that uploaded nothing has no copy
// left to copy from. Waiting, it is offered none. (On a
// store that keeps stamps the placement's confirming HEADs would fence
// the DELETEs off instead: the store here keeps none, see unstamped.)
func TestGCKeepsAPlacementOffTheCopiesItDeletes(t *testing.T) {
	u := &unstamped{} // no blob's DELETE runs anything
	cl, c := store(t, 2, meta.Options{KeepVersions: 1, GCGrace: time.Hour, Client: &http.Client{Transport: u}})
	old := replacedPastGrace(t, cl, c)
	waits, done := make(chan struct{}), make(chan struct{})
	var waited sync.Once
	meta.SetGCWaitHook(cl.Meta(), func() { waited.Do(func() { close(waits) }) })
	var (
		code int
		p    meta.Placement
	)
	meta.SetGCLookedHook(cl.Meta(), func() {
		go func() {
			defer close(done)
			req, _ := json.Marshal(meta.WriteRequest{Key: "k2", Hash: old.Hash, Size: old.Size})
			resp, err := http.Post(cl.MetaURL+"/writes", "application/json", bytes.NewReader(req))
			if err != nil {
				return
			}
			defer resp.Body.Close()
			code = resp.StatusCode
			json.NewDecoder(resp.Body).Decode(&p)
		}()
		select {
		case <-done:
		case <-waits:
		}
	})

	rep := gc(t, cl)
	<-done
	require.Equal(t, 2, rep.Copies, "GC deleted both copies")
	require.Equal(t, http.StatusOK, code, "the placement")
	assert.Empty(t, p.Have, "copies GC deleted offered as held")
	select {
	case <-waits:
	default:
		t.Errorf("the placement sent while GC deleted did not wait for GC's lock")
	}
}
