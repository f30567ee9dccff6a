package client_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/dataserver"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// quiet drops the warnings the fault tests provoke on purpose.
var quiet = slog.New(slog.DiscardHandler)

// clock is a settable clock shared by the metadata server and clients.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// swappable serves whatever handler it holds now, so a test can restart
// the metadata server behind an unchanged URL.
type swappable struct{ h atomic.Pointer[http.Handler] }

func (s *swappable) set(h http.Handler) { s.h.Store(&h) }
func (s *swappable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}

type dataNode struct {
	dir   string
	store *blob.Disk
	ds    *dataserver.Server
	srv   *httptest.Server
	puts  atomic.Int32 // PUT requests that reached the server
	gets  atomic.Int32
}

type cluster struct {
	t       *testing.T
	clock   *clock
	opt     meta.Options
	dataOpt dataserver.Options
	dbPath  string
	ns      *meta.Namespace
	meta    swappable
	url     string
	data    []*dataNode
}

// newCluster starts a metadata server and n data servers that have all
// sent one heartbeat.
func newCluster(t *testing.T, n int, opt meta.Options) *cluster {
	t.Helper()
	return newClusterWith(t, n, opt, dataserver.Options{})
}

// newClusterWith is newCluster with options for the data servers.
func newClusterWith(t *testing.T, n int, opt meta.Options, dataOpt dataserver.Options) *cluster {
	t.Helper()
	c := &cluster{t: t, clock: &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, opt: opt, dataOpt: dataOpt}
	c.dbPath = filepath.Join(t.TempDir(), "meta.db")
	c.startMeta()
	srv := httptest.NewServer(&c.meta)
	t.Cleanup(srv.Close)
	c.url = srv.URL
	for range n {
		c.data = append(c.data, c.startData())
	}
	c.beat()
	return c
}

func (c *cluster) startMeta() {
	ns, err := meta.OpenNamespace(c.dbPath)
	require.NoError(c.t, err)
	c.t.Cleanup(func() { ns.Close() })
	opt := c.opt
	opt.Namespace, opt.Now, opt.Log = ns, c.clock.Now, quiet
	m, err := meta.NewServer(opt)
	require.NoError(c.t, err)
	c.ns = ns
	c.meta.set(m)
}

// restartMeta closes the metadata database and starts a new metadata
// server on it, behind the same URL. The new server knows no live data
// servers until they beat again.
func (c *cluster) restartMeta() {
	require.NoError(c.t, c.ns.Close())
	c.startMeta()
}

func (c *cluster) startData() *dataNode {
	d := &dataNode{dir: c.t.TempDir()}
	var err error
	d.store, err = blob.OpenDisk(d.dir)
	require.NoError(c.t, err)
	var handler atomic.Pointer[dataserver.Server]
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPut:
			d.puts.Add(1)
		case http.MethodGet:
			d.gets.Add(1)
		}
		handler.Load().ServeHTTP(w, r)
	}))
	c.t.Cleanup(d.srv.Close)
	opt := c.dataOpt
	opt.Store, opt.Addr, opt.MetaURL, opt.Capacity, opt.Log = d.store, d.srv.URL, c.url, 1<<30, quiet
	d.ds = dataserver.New(opt)
	handler.Store(d.ds)
	return d
}

func (c *cluster) beat() {
	for _, d := range c.data {
		require.NoError(c.t, d.ds.Beat(context.Background()))
	}
}

func (c *cluster) node(addr string) *dataNode {
	for _, d := range c.data {
		if d.srv.URL == addr {
			return d
		}
	}
	c.t.Fatalf("no data server %s", addr)
	return nil
}

func (c *cluster) client(opt client.Options) *client.Client {
	opt.MetaURL = c.url
	opt.Now, opt.Log = c.clock.Now, quiet
	if opt.TempDir == "" {
		opt.TempDir = c.t.TempDir()
	}
	return client.New(opt)
}

func (d *dataNode) blobPath(h blob.Hash) string {
	return filepath.Join(d.dir, "blobs", string(h[:2]), string(h))
}

func (d *dataNode) has(h blob.Hash) bool {
	_, err := os.Stat(d.blobPath(h))
	return err == nil
}
