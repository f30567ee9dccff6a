// Package storetest starts a whole object store inside one test: a
// metadata server and data servers on httptest servers, sharing a
// settable clock, with the faults tests need: stop a data server, restart
// the metadata server, find a blob's file to damage it, kill a data
// server and bring it back.
//
// Data servers are named ds-00, ds-01... (their disks' IDs), so that
// where the ring puts a blob is the same in every run.
//
// A cluster runs inside a test (New(t, ...)) or, with a Standalone in
// place of the *testing.T, inside an Example function.
//
// A data server taken down (Kill, MoveData, or its HTTP.Close) leaves an
// address that refuses connections until the test ends: its port stays
// held (deadaddr.NewServer), so that a client or the metadata server that
// still dials the old address meets a refusal, never a server that
// another test, running alongside, was given the freed port for.
package storetest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/deadaddr"
	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/dataserver"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// Quiet drops the warnings that fault tests provoke on purpose.
var Quiet = slog.New(slog.DiscardHandler)

// Clock is a settable clock, for the metadata server's liveness timeout
// and the clients' cache TTL.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// Add moves the clock forward.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// swappable serves whatever handler it holds now, so that the metadata
// server can restart behind an unchanged URL.
type swappable struct{ h atomic.Pointer[http.Handler] }

func (s *swappable) set(h http.Handler) { s.h.Store(&h) }
func (s *swappable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}

// DataNode is one running data server.
type DataNode struct {
	Dir    string
	Store  *blob.Disk
	Server *dataserver.Server
	HTTP   *httptest.Server // HTTP.Close() takes the server down; its address then refuses connections
	Puts   atomic.Int32     // PUT requests it received
	Gets   atomic.Int32     // GET requests it received
	Down   bool             // killed (Kill) and not restarted

	mu     sync.Mutex
	ranges []string // the Range header of each GET, "" for none
}

// Ranges returns the Range header of every GET the data server received,
// in order, "" for a GET of the whole blob.
func (d *DataNode) Ranges() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.ranges)
}

// URL is the data server's base URL.
func (d *DataNode) URL() string { return d.HTTP.URL }

// BlobPath is where the data server keeps blob h.
func (d *DataNode) BlobPath(h blob.Hash) string {
	return filepath.Join(d.Dir, "blobs", string(h[:2]), string(h))
}

// Has reports whether the data server holds blob h.
func (d *DataNode) Has(h blob.Hash) bool {
	_, err := os.Stat(d.BlobPath(h))
	return err == nil
}

// Cluster is a running store.
type Cluster struct {
	Clock   *Clock
	MetaURL string
	Data    []*DataNode

	t       TB
	opt     meta.Options
	dataOpt dataserver.Options
	dbPath  string
	ns      *meta.Namespace
	server  *meta.Server
	meta    swappable
}

// New starts a metadata server configured by opt and n data servers, each
// of which has sent one heartbeat. The metadata server logs to opt.Log,
// Quiet if nil.
func New(t TB, n int, opt meta.Options) *Cluster {
	t.Helper()
	return NewWith(t, n, opt, dataserver.Options{})
}

// NewWith is New with options for the data servers.
func NewWith(t TB, n int, opt meta.Options, dataOpt dataserver.Options) *Cluster {
	t.Helper()
	c := &Cluster{
		Clock: &Clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		t:     t, opt: opt, dataOpt: dataOpt,
		dbPath: filepath.Join(t.TempDir(), "meta.db"),
	}
	c.startMeta()
	srv := httptest.NewServer(&c.meta)
	t.Cleanup(srv.Close)
	c.MetaURL = srv.URL
	for range n {
		c.Data = append(c.Data, c.startData())
	}
	c.Beat()
	return c
}

func (c *Cluster) startMeta() {
	ns, err := meta.OpenNamespace(c.dbPath)
	require.NoError(c.t, err)
	c.t.Cleanup(func() { ns.Close() })
	opt := c.opt
	opt.Namespace, opt.Now = ns, c.Clock.Now
	if opt.Log == nil {
		opt.Log = Quiet
	}
	m, err := meta.NewServer(opt)
	require.NoError(c.t, err)
	c.t.Cleanup(m.WaitReports) // runs before the namespace closes
	c.ns, c.server = ns, m
	c.meta.set(m)
}

// Meta is the metadata server running now (it changes on RestartMeta).
func (c *Cluster) Meta() *meta.Server { return c.server }

// Namespace is the running metadata server's database.
func (c *Cluster) Namespace() *meta.Namespace { return c.ns }

// RestartMeta closes the metadata database and starts a new metadata
// server on it, behind the same URL. The new server knows no live data
// servers until they beat again.
func (c *Cluster) RestartMeta() {
	c.server.WaitReports() // the checks of bad-copy reports write to the database
	require.NoError(c.t, c.ns.Close())
	c.startMeta()
}

func (c *Cluster) startData() *DataNode {
	dir := c.t.TempDir()
	id := fmt.Sprintf("ds-%02d\n", len(c.Data))
	require.NoError(c.t, os.WriteFile(filepath.Join(dir, "id"), []byte(id), 0o644))
	return c.serveData(dir)
}

// AddData starts one more data server, which sends a heartbeat.
func (c *Cluster) AddData() *DataNode {
	d := c.startData()
	c.Data = append(c.Data, d)
	require.NoError(c.t, d.Server.Beat(context.Background()))
	return d
}

// Kill takes data server i down: its address refuses connections and it
// sends no more heartbeats. Its disk is kept for Restart.
func (c *Cluster) Kill(i int) {
	c.Data[i].HTTP.Close()
	c.Data[i].Store.Close() // as a process that dies lets go of its directory
	c.Data[i].Down = true
}

// Restart starts killed data server i again on its disk, at a new
// address, and lets it send a heartbeat.
func (c *Cluster) Restart(i int) { c.MoveData(i) }

// serveData starts a data server on the store in dir.
func (c *Cluster) serveData(dir string) *DataNode {
	d := &DataNode{Dir: dir}
	var err error
	d.Store, err = blob.OpenDisk(d.Dir)
	require.NoError(c.t, err)
	c.t.Cleanup(func() { d.Store.Close() }) // a second Close (after Kill) fails, harmlessly
	var handler atomic.Pointer[dataserver.Server]
	d.HTTP = deadaddr.NewServer(c.t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPut:
			d.Puts.Add(1)
		case http.MethodGet:
			d.Gets.Add(1)
			d.mu.Lock()
			d.ranges = append(d.ranges, r.Header.Get("Range"))
			d.mu.Unlock()
		}
		handler.Load().ServeHTTP(w, r)
	}))
	c.t.Cleanup(d.HTTP.Close)
	opt := c.dataOpt
	opt.Store, opt.ID, opt.Addr, opt.MetaURL, opt.Log = d.Store, d.Store.ID(), d.HTTP.URL, c.MetaURL, Quiet
	if opt.Capacity == 0 {
		opt.Capacity = 1 << 40 // room for any test's blobs
	}
	d.Server = dataserver.New(opt)
	handler.Store(d.Server)
	return d
}

// MoveData stops data server i and starts it again, on the same disk but
// at a new address, and lets it send a heartbeat.
func (c *Cluster) MoveData(i int) {
	c.Data[i].HTTP.Close()
	if !c.Data[i].Down {
		c.Data[i].Store.Close()
	}
	c.Data[i] = c.serveData(c.Data[i].Dir)
	c.Data[i].Down = false
	require.NoError(c.t, c.Data[i].Server.Beat(context.Background()))
}

// Beat sends one heartbeat from every data server that is up.
func (c *Cluster) Beat() {
	for _, d := range c.Data {
		if !d.Down {
			require.NoError(c.t, d.Server.Beat(context.Background()))
		}
	}
}

// ByID returns the data server whose disk has ID id, or nil.
func (c *Cluster) ByID(id string) *DataNode {
	for _, d := range c.Data {
		if d.Store.ID() == id {
			return d
		}
	}
	return nil
}

// Intact reports whether the data server's copy of h exists and hashes
// to h: the ground truth, read straight from its disk.
func (d *DataNode) Intact(h blob.Hash) bool {
	data, err := os.ReadFile(d.BlobPath(h))
	return err == nil && blob.Sum(data) == h
}

// Corrupt flips one byte of the data server's copy of h (or, for an
// empty blob, adds one), behind the data server's back.
func (d *DataNode) Corrupt(t TB, h blob.Hash) {
	t.Helper()
	path := d.BlobPath(h)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	if len(data) == 0 {
		data = []byte{0}
	} else {
		data[len(data)/2] ^= 0x40
	}
	require.NoError(t, os.WriteFile(path, data, 0o644))
}

// Node returns the data server at addr.
func (c *Cluster) Node(addr string) *DataNode {
	for _, d := range c.Data {
		if d.URL() == addr {
			return d
		}
	}
	c.t.Fatalf("no data server %s", addr)
	return nil
}

// Puts counts the PUT requests all data servers received.
func (c *Cluster) Puts() (n int32) {
	for _, d := range c.Data {
		n += d.Puts.Load()
	}
	return n
}

// Gets counts the GET requests all data servers received.
func (c *Cluster) Gets() (n int32) {
	for _, d := range c.Data {
		n += d.Gets.Load()
	}
	return n
}
