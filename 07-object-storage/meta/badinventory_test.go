package meta_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// inventoryServer is a data server that lists inventory for GET /blobs
// and records every other request it gets.
type inventoryServer struct {
	inventory string
	mu        sync.Mutex
	requests  []string
}

func (d *inventoryServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/blobs" {
		fmt.Fprint(w, d.inventory)
		return
	}
	d.mu.Lock()
	d.requests = append(d.requests, r.Method+" "+r.URL.Path)
	d.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (d *inventoryServer) seen() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.requests...)
}

// An inventory is a data server's word, in JSON, and a hash in it that
// is not one (empty, or a path) is left out, as a hash in a client's
// request is refused: it neither stops garbage collection for every
// server (an empty key cannot be recorded as garbage) nor makes GC send
// a DELETE for a path of the server's choosing.
func TestGCIgnoresAnInventoryEntryThatIsNotAHash(t *testing.T) {
	ns, _ := openNS(t)
	c := &clock{now: t0}
	s, err := meta.NewServer(meta.Options{Namespace: ns, Replicas: 1, GCGrace: time.Hour, Now: c.Now, Log: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	h := blob.Sum([]byte("an upload nobody committed"))
	good := &inventoryServer{inventory: `[{"hash":"` + string(h) + `","size":26,"stamp":5}]`}
	bad := &inventoryServer{inventory: `[{"hash":"","size":1},{"hash":"../../admin","size":1}]`}
	servers := map[string]*inventoryServer{"good": good, "bad": bad}
	beat := func() {
		for id, d := range servers {
			srv := httptest.NewServer(d)
			t.Cleanup(srv.Close)
			s.Registry().Beat(meta.Heartbeat{ID: id, Addr: srv.URL})
		}
	}
	beat()

	_, err = s.GC(bg)
	require.NoError(t, err, "a bad inventory entry stopped GC")
	c.Add(2 * time.Hour)
	beat()
	rep, err := s.GC(bg)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Deleted, "the good server's garbage, past its grace")
	assert.Equal(t, []string{"DELETE /blobs/" + string(h)}, good.seen())
	assert.Empty(t, bad.seen(), "GC sent the bad server a request for a name it listed")
}
