package meta_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/meta"
)

// A bad-replica report names an address. When that address has changed
// hands (a data server gone, another started in its place), the
// namespace can hold records of both IDs there, and readers were sent to
// that address for either: the report drops every record of the blob
// that sends readers there, whichever ID the registry knows at it now,
// once the check finds neither copy there (the server now at addr holds
// none, and refuses a request meant for the old ID).
func TestABadReplicaReportDropsEveryRecordAtTheAddress(t *testing.T) {
	f := newMeta(t, meta.Options{Replicas: 1})
	addr := f.dataServer(t) // heartbeats: its ID is live at addr
	other := f.dataServer(t)
	require.NoError(t, f.ns.SetServerAddr("gone", addr)) // the server that had addr before
	hash := h("content")
	_, err := f.ns.Commit(meta.CommitRequest{Key: "k", Hash: hash, Size: 7, Replicas: []string{"gone", f.ids[addr], f.ids[other]}}, t0)
	require.NoError(t, err)

	code, body := f.do(t, http.MethodPost, "/bad", meta.BadReplica{Hash: hash, Addr: addr})
	require.Equal(t, http.StatusAccepted, code, body)
	f.s.WaitReports()
	rs, err := f.ns.Replicas(hash)
	require.NoError(t, err)
	assert.Equal(t, []string{f.ids[other]}, rs, "the records at the reported address are gone, the other stays")
}

// A report whose address is not one a data server could have (no
// scheme, a path) is a 400: it would match no record, and a 204 would
// tell its sender that the bad copy was dealt with while it stays
// recorded, and readers keep being sent to it.
func TestABadReplicaReportNeedsAnAddress(t *testing.T) {
	f := newMeta(t, meta.Options{Replicas: 1})
	addr := f.dataServer(t)
	hash := h("content")
	_, err := f.ns.Commit(meta.CommitRequest{Key: "k", Hash: hash, Size: 7, Replicas: []string{f.ids[addr]}}, t0)
	require.NoError(t, err)

	for _, bad := range []string{"", strings.TrimPrefix(addr, "http://"), addr + "/", addr + "/blobs"} {
		code, body := f.do(t, http.MethodPost, "/bad", meta.BadReplica{Hash: hash, Addr: bad})
		assert.Equal(t, http.StatusBadRequest, code, "addr %q: %s", bad, body)
	}
	rs, err := f.ns.Replicas(hash)
	require.NoError(t, err)
	assert.Equal(t, []string{f.ids[addr]}, rs)
}
