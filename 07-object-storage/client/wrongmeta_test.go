package client_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/meta"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// A client whose MetaURL names another of the store's servers (here a
// data server, which serves none of the metadata server's paths) is told
// so: ErrNotMetadataServer, not meta.ErrNotFound. Read as "not found",
// net/http's own 404 made a lookup "no such object" and a write fail
// with a 404, sending the reader after a missing key instead of a wrong
// address. The metadata server's own 404 is still meta.ErrNotFound.
func TestAnotherServerIsNotTheMetadataServer(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	wrong := client.New(client.Options{MetaURL: cl.Data[0].URL(), TempDir: t.TempDir(), Log: storetest.Quiet})

	_, err := wrong.Stat(ctx, "k", 0)
	assert.ErrorIs(t, err, client.ErrNotMetadataServer)
	assert.NotErrorIs(t, err, meta.ErrNotFound)
	_, err = wrong.Get(ctx, "k", 0)
	assert.ErrorIs(t, err, client.ErrNotMetadataServer)
	assert.NotErrorIs(t, err, meta.ErrNotFound)
	_, err = wrong.Put(ctx, "k", strings.NewReader("content"))
	assert.ErrorIs(t, err, client.ErrNotMetadataServer)
	assert.NotErrorIs(t, err, meta.ErrNotFound)

	_, err = cl.client(client.Options{}).Stat(ctx, "k", 0)
	require.ErrorIs(t, err, meta.ErrNotFound, "the metadata server's own 404")
	assert.NotErrorIs(t, err, client.ErrNotMetadataServer)
}
