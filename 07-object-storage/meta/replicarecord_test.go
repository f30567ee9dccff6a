package meta_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/meta"
)

// replicasAt posts a replica record, as a read repair does (or anyone
// who reaches the metadata server), and returns the answer's status.
func replicasAt(t *testing.T, url string, v meta.Version, addr string) int {
	t.Helper()
	body, err := json.Marshal(meta.ReplicaRequest{Hash: v.Hash, Size: v.Size, Replicas: []string{addr}})
	require.NoError(t, err)
	resp, err := http.Post(url+"/replicas", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// A record made while a report waits (POST /replicas, a commit) marks the
// report answered, so that its check does not forget a new copy stored
// in the old one's place. But a record is confirmed by a HEAD, which
// the damaged copy answers as well as a new one: anyone can name the
// damaged copy in POST /replicas while the check re-hashes it. The check
// then looks again at what the server holds: the damaged copy was set
// aside by the verify, nothing is there, and the record goes. (Before,
// the check forgot nothing, and the record named a copy that was gone.)
func TestAReplicaRecordOfTheDamagedCopyDoesNotCancelTheReport(t *testing.T) {
	hold := newHold()
	cl, c := store(t, 3, meta.Options{Client: &http.Client{Transport: hold}})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(hold.release) }) })
	v, err := c.Put(bg, "k", strings.NewReader("damaged, and said to be fine"))
	require.NoError(t, err)
	bad := cl.Node(v.Replicas[0])
	bad.Corrupt(t, v.Hash)

	require.Equal(t, http.StatusAccepted, report(t, cl, v.Hash, v.Replicas[0]))
	hold.waitStarted(t) // the check is re-hashing the copy
	require.Equal(t, http.StatusNoContent, replicasAt(t, cl.MetaURL, v, v.Replicas[0]), "the damaged copy answers the HEAD")
	once.Do(func() { close(hold.release) })
	cl.Meta().WaitReports()
	assert.False(t, bad.Has(v.Hash), "the verify set the damaged copy aside")
	assert.NotContains(t, records(t, cl, v.Hash), bad.Store.ID(), "a replica record of the damaged copy cancelled the report")
}
