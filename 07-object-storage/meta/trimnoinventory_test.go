package meta_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/meta"
)

// noInventory fails the inventory (GET /blobs) of one data server, as a
// server too slow to list in time (or, with cannotList, answers 501 for
// it, as a server whose store cannot list), and passes everything else on.
type noInventory struct {
	next       http.RoundTripper
	cannotList bool

	mu   sync.Mutex
	host string
}

func (n *noInventory) set(host string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.host = host
}

func (n *noInventory) RoundTrip(req *http.Request) (*http.Response, error) {
	n.mu.Lock()
	fail := req.Method == http.MethodGet && req.URL.Path == "/blobs" && req.URL.Host == n.host
	n.mu.Unlock()
	switch {
	case fail && n.cannotList:
		return &http.Response{StatusCode: http.StatusNotImplemented, Body: http.NoBody, Request: req}, nil
	case fail:
		return nil, errors.New("inventory timed out")
	}
	return n.next.RoundTrip(req)
}

// A round that has no inventory from a data server has seen no stamp
// for its copies, so it does not trim one there: a plain DELETE,
// carried out after its deadline, would remove a copy a commit had
// counted since. The next round, with the inventory, trims it fenced.
func TestTrimSkipsACopyWithoutAnInventory(t *testing.T) {
	late := &lateDeletes{}
	inv := &noInventory{next: late}
	cl, _, _, v, stray := surplus(t, inv)
	require.NoError(t, cl.Namespace().AddReplicas(v.Hash, []string{stray.Store.ID()}))
	late.hash = v.Hash
	inv.set(host(stray))

	rep := round(t, cl)
	assert.Zero(t, rep.Trimmed)
	assert.Zero(t, rep.Failed)

	var all []string
	for _, d := range cl.Data {
		all = append(all, d.URL())
	}
	body, _ := json.Marshal(meta.CommitRequest{Key: "k2", Hash: v.Hash, Size: v.Size, Replicas: all})
	resp, err := http.Post(cl.MetaURL+"/commits", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode, "the commit")

	late.release(t) // any DELETE the round sent, carried out late
	assert.True(t, stray.Has(v.Hash), "the copy the commit counted was removed by a DELETE without a stamp")
	assert.True(t, recorded(t, cl, v.Hash, stray), "the copy the commit counted is not on record")

	inv.set("")
	late.hash = ""
	rep = round(t, cl)
	assert.Equal(t, 1, rep.Trimmed, "trimmed by a round with the inventory")
	assert.False(t, stray.Has(v.Hash))
	assert.Len(t, intact(t, cl, v.Hash), 2)
}

// A data server whose store cannot list its blobs never has an
// inventory: its surplus copy is trimmed with a plain DELETE, as before
// stamps, not kept for ever.
func TestTrimOfACopyOnAServerThatCannotList(t *testing.T) {
	inv := &noInventory{next: http.DefaultTransport, cannotList: true}
	cl, _, _, v, stray := surplus(t, inv)
	require.NoError(t, cl.Namespace().AddReplicas(v.Hash, []string{stray.Store.ID()}))
	inv.set(host(stray))

	rep := round(t, cl)
	assert.Equal(t, 1, rep.Trimmed)
	assert.False(t, stray.Has(v.Hash))
	assert.False(t, recorded(t, cl, v.Hash, stray))
	assert.Len(t, intact(t, cl, v.Hash), 2)
}
