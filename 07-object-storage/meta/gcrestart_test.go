package meta_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// A placement protects its blob from GC across a restart of the metadata
// server too. Here a blob long unreferenced (past its grace, not yet
// collected) is placed for a deduplicated write, the metadata server
// restarts, and GC runs before the client commits: the copies the
// placement said are there must still be there for the commit.
func TestGCSparesABlobPlacedBeforeAMetaRestart(t *testing.T) {
	cl, c := store(t, 2, meta.Options{KeepVersions: 1, GCGrace: time.Hour})
	data := "same content"
	_, err := c.Put(bg, "k", strings.NewReader(data))
	require.NoError(t, err)
	_, err = c.Put(bg, "k", strings.NewReader("newer"))
	require.NoError(t, err)
	h := blob.Sum([]byte(data))
	require.Zero(t, gc(t, cl).Deleted, "version 1 pruned, its blob marked")
	cl.Clock.Add(2 * time.Hour)
	cl.Beat()

	placement, err := postJSON[meta.Placement](cl.MetaURL+"/writes", meta.WriteRequest{Key: "k2", Hash: h, Size: int64(len(data))})
	require.NoError(t, err)
	require.Len(t, placement.Have, 2, "the placement found both copies")

	cl.RestartMeta()
	cl.Clock.Add(10 * time.Minute) // the restarted server's first GC tick
	cl.Beat()
	assert.Zero(t, gc(t, cl).Deleted, "a blob placed 10 minutes ago, before the restart, was deleted")
	assert.Equal(t, 2, onDisk(cl, h))

	body, _ := json.Marshal(meta.CommitRequest{Key: "k2", Hash: h, Size: int64(len(data)), Replicas: placement.Have})
	resp, err := http.Post(cl.MetaURL+"/commits", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusCreated, resp.StatusCode, "the commit of the deduplicated write")

}

// The grace a placement restarts across a restart ends as any other: a
// blob placed and never committed is collected an hour after its
// placement.
func TestGCCollectsABlobPlacedBeforeAMetaRestartAfterItsGrace(t *testing.T) {
	cl, c := store(t, 2, meta.Options{KeepVersions: 1, GCGrace: time.Hour})
	data := "same content"
	_, err := c.Put(bg, "k", strings.NewReader(data))
	require.NoError(t, err)
	_, err = c.Put(bg, "k", strings.NewReader("newer"))
	require.NoError(t, err)
	h := blob.Sum([]byte(data))
	require.Zero(t, gc(t, cl).Deleted, "version 1 pruned, its blob marked")
	cl.Clock.Add(2 * time.Hour)
	cl.Beat()
	_, err = postJSON[meta.Placement](cl.MetaURL+"/writes", meta.WriteRequest{Key: "k2", Hash: h, Size: int64(len(data))})
	require.NoError(t, err)

	cl.RestartMeta()
	cl.Clock.Add(59 * time.Minute)
	cl.Beat()
	assert.Zero(t, gc(t, cl).Deleted, "placed 59 minutes ago")
	cl.Clock.Add(time.Minute)
	cl.Beat()
	assert.Equal(t, 1, gc(t, cl).Deleted, "placed an hour ago and never committed")
	assert.Zero(t, onDisk(cl, h))
}
