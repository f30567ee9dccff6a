package meta_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/dataserver"
	"github.com/gocourse/gateway/07-object-storage/meta"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// failGetsFrom answers 500 to every GET of a blob from the host it
// names: a data server that beats and lists its copy but cannot serve it
// (an open that fails, a disk that hangs), as its pulling peers see it.
type failGetsFrom struct {
	host    atomic.Pointer[string]
	next    http.RoundTripper
	refused atomic.Int32 // GETs answered 500
}

func (f *failGetsFrom) RoundTrip(req *http.Request) (*http.Response, error) {
	if h := f.host.Load(); h != nil && req.Method == http.MethodGet && req.URL.Host == *h && strings.HasPrefix(req.URL.Path, "/blobs/") {
		if req.Body != nil {
			req.Body.Close()
		}
		f.refused.Add(1)
		return &http.Response{StatusCode: http.StatusInternalServerError, Status: "500 Internal Server Error", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Body: http.NoBody, Request: req}, nil
	}
	return f.next.RoundTrip(req)
}

// twoHoldersFirstCannotServe stores content with R replicas on a cluster
// of n data servers, kills every holder but two, and has the ring's
// first of those two answer 500 to every GET of a blob: a holder that
// beats and lists its copy but cannot serve it, as its pulling peers see
// it. It returns the cluster, the blob and the transport counting the
// refused GETs.
func twoHoldersFirstCannotServe(t *testing.T, n, r int, content string) (*storetest.Cluster, meta.Version, *failGetsFrom) {
	t.Helper()
	tr := &failGetsFrom{next: http.DefaultTransport}
	cl := storetest.NewWith(t, n, meta.Options{Replicas: r, Timeout: 10 * time.Second, Grace: 30 * time.Second},
		dataserver.Options{Client: &http.Client{Transport: tr}})
	c := client.New(client.Options{MetaURL: cl.MetaURL, TempDir: t.TempDir(), Now: cl.Clock.Now, Log: storetest.Quiet, MetaCacheEntries: -1, DataCacheBytes: 1})
	v, err := c.Put(bg, "k", strings.NewReader(content))
	require.NoError(t, err)
	ids, err := cl.Namespace().Replicas(v.Hash)
	require.NoError(t, err)
	require.Len(t, ids, r)

	for _, id := range ids[2:] {
		cl.Kill(indexOf(cl, id))
	}
	cl.Clock.Add(45 * time.Second)
	cl.Beat()
	var live []string
	for _, hb := range cl.Meta().Registry().Live() {
		live = append(live, hb.ID)
	}
	var sources []string
	for _, id := range (&meta.Ring{}).Place(string(v.Hash), live) {
		if id == ids[0] || id == ids[1] {
			sources = append(sources, id)
		}
	}
	require.Len(t, sources, 2)
	u, err := url.Parse(cl.ByID(sources[0]).URL())
	require.NoError(t, err)
	tr.host.Store(&u.Host)
	return cl, v, tr
}

// A pull that fails because its source cannot serve the blob (502 from
// the target) is tried again from the next live holder: a source that
// lists its copy but cannot serve it must not leave the blob short of R
// round after round, with a good holder beside it never asked.
func TestRepairPullsFromTheNextSourceWhenOneFails(t *testing.T) {
	cl, v, _ := twoHoldersFirstCannotServe(t, 4, 3, "two good holders, one that cannot serve")
	rep := round(t, cl)
	assert.Equal(t, 1, rep.Copied, "the second holder was never asked")
	assert.Zero(t, rep.Failed)
	assert.Len(t, intact(t, cl, v.Hash), 3)
}

// A source that served nothing goes to the end of the list for the rest
// of the round: a blob two copies short asks it once, for the first new
// copy, and the second target asks the holder that served the first.
func TestASourceThatFailedIsAskedLastByTheNextTarget(t *testing.T) {
	cl, v, tr := twoHoldersFirstCannotServe(t, 6, 4, "two copies short, two holders left")
	rep := round(t, cl)
	assert.Equal(t, 2, rep.Copied)
	assert.Zero(t, rep.Failed)
	assert.Len(t, intact(t, cl, v.Hash), 4)
	assert.Equal(t, int32(1), tr.refused.Load(), "pulls from the source that cannot serve: the second target asked it first again")
}

func indexOf(cl *storetest.Cluster, id string) int {
	for i, d := range cl.Data {
		if d.Store.ID() == id {
			return i
		}
	}
	return -1
}
