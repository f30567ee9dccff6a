package meta_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/meta"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// A version committed with W copies of R, every server up (its third
// upload was cut short, as a write with W copies cuts an upload beyond
// W that makes no progress: client.quorumGrace), is brought up to R by
// the next repair round: the blob is copied to the server that missed
// it, and a second round has nothing to do. The client here fails its
// upload to that server outright, which leaves the store the same.
func TestRepairBringsAVersionWithWCopiesUpToR(t *testing.T) {
	cl, _ := store(t, 3, meta.Options{Replicas: 3, Quorum: 2})
	missed, err := url.Parse(cl.Data[2].URL())
	require.NoError(t, err)
	tr := client.NewTransport()
	cut := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if req.Method == http.MethodPut && req.URL.Host == missed.Host {
			return nil, errors.New("cut short")
		}
		return tr.RoundTrip(req)
	})
	c := client.New(client.Options{MetaURL: cl.MetaURL, TempDir: t.TempDir(), Now: cl.Clock.Now, Log: storetest.Quiet,
		MetaCacheEntries: -1, DataCacheBytes: 1, HTTP: &http.Client{Transport: cut}})
	v, err := c.Put(bg, "k", strings.NewReader("two copies, then three"))
	require.NoError(t, err)
	require.Len(t, v.Replicas, 2, "committed with W copies")
	require.False(t, cl.Data[2].Has(v.Hash))

	rep := round(t, cl)
	assert.Equal(t, 1, rep.UnderReplicated)
	assert.Equal(t, 1, rep.Copied)
	assert.Len(t, intact(t, cl, v.Hash), 3, "intact copies on running servers")
	assert.True(t, cl.Data[2].Has(v.Hash), "not copied to the server that missed it")
	assert.Zero(t, round(t, cl).Copied, "a second round has nothing to do")
}
