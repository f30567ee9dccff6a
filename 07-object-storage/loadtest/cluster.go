package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/gocourse/gateway/06-middleware/gateway"
	"github.com/gocourse/gateway/07-object-storage/api"
	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/dataserver"
	"github.com/gocourse/gateway/07-object-storage/front"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// The store that the workloads measure, started in this process (see
// cluster and startCluster).

// quiet is the logger of every server in the cluster: the program prints
// its measurements, not the servers' logs.
var quiet = slog.New(slog.DiscardHandler)

// apiKey is what the load generator sends to the gateway.
const apiKey = "load"

// metaCacheTTL is how long an API server keeps a key's metadata: the
// client's default, set here so that the cached GET workload can check
// that it ran within it (see getSmall).
const metaCacheTTL = 5 * time.Second

// cluster is the whole store of `go run ./07-object-storage`, in this
// process: a metadata server, three data servers, two API servers, and
// chapter 06's gateway in front, every one on its own loopback listener,
// so that every byte crosses real HTTP connections.
type cluster struct {
	url     string // the gateway's
	servers []*http.Server
	stop    context.CancelFunc
	ns      *meta.Namespace
	disks   []*blob.Disk
	gw      *gateway.Gateway
	// behind counts the requests the metadata and data servers receive,
	// heartbeats aside: a test's way to see that a cached GET stays in
	// the API servers (one atomic add per request, nothing more).
	behind atomic.Int64
	// apiCalls counts the requests the API servers receive, the
	// gateway's health checks aside: the way to see that a GET the
	// gateway's cache should answer stays in the gateway.
	apiCalls atomic.Int64
}

// counted counts h's requests in c.behind.
func (c *cluster) counted(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/heartbeat" {
			c.behind.Add(1)
		}
		h.ServeHTTP(w, r)
	})
}

// countedAPI counts h's requests in c.apiCalls.
func (c *cluster) countedAPI(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			c.apiCalls.Add(1)
		}
		h.ServeHTTP(w, r)
	})
}

// serveOn serves h on a new loopback listener and returns its URL.
func (c *cluster) serveOn(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	c.servers = append(c.servers, srv)
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), nil
}

// startCluster starts a store of the given replica count under dir. Each
// tune, if any, changes the options of both API servers' clients (a test's
// way to start a store whose API servers cache nothing).
func startCluster(dir string, replicas int, tune ...func(*client.Options)) (*cluster, error) {
	ctx, stop := context.WithCancel(context.Background())
	c := &cluster{stop: stop}
	if err := mkdir(dir); err != nil {
		return nil, err
	}
	ns, err := meta.OpenNamespace(filepath.Join(dir, "meta.db"))
	if err != nil {
		return nil, err
	}
	c.ns = ns
	// The metadata server confirms every commit with HEADs to data
	// servers: give it a Transport that keeps connections, as clients have.
	m, err := meta.NewServer(meta.Options{Namespace: ns, Replicas: replicas, Log: quiet,
		Client: &http.Client{Transport: client.NewTransport()}})
	if err != nil {
		return nil, err
	}
	metaURL, err := c.serveOn(c.counted(m))
	if err != nil {
		return nil, err
	}
	for i := range 3 {
		d, err := blob.OpenDisk(filepath.Join(dir, fmt.Sprintf("data%d", i+1)))
		if err != nil {
			return nil, err
		}
		c.disks = append(c.disks, d)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		addr := "http://" + ln.Addr().String()
		ds := dataserver.New(dataserver.Options{Store: d, MaxBlobSize: 1 << 40, ID: d.ID(), Addr: addr,
			MetaURL: metaURL, Capacity: 1 << 40, Log: quiet})
		srv := &http.Server{Handler: c.counted(ds), ReadHeaderTimeout: 5 * time.Second}
		c.servers = append(c.servers, srv)
		go srv.Serve(ln)
		if err := ds.Beat(ctx); err != nil {
			return nil, err
		}
		ticker := time.NewTicker(2 * time.Second)
		go func() { defer ticker.Stop(); ds.Run(ctx, ticker.C) }()
	}
	var apis []string
	for i := range 2 {
		opt := client.Options{MetaURL: metaURL, TempDir: filepath.Join(dir, fmt.Sprintf("api%d", i+1)), Log: quiet,
			MetaCacheTTL: metaCacheTTL}
		for _, f := range tune {
			f(&opt)
		}
		cl := client.New(opt)
		if err := mkdir(filepath.Join(dir, fmt.Sprintf("api%d", i+1))); err != nil {
			return nil, err
		}
		u, err := c.serveOn(c.countedAPI(api.New(cl, 1<<40, quiet)))
		if err != nil {
			return nil, err
		}
		apis = append(apis, u)
	}
	src := front.Source(front.Settings{Listen: "127.0.0.1:0", Targets: apis, APIKey: apiKey, Rate: 1e9, MaxBytes: 1 << 40})
	c.gw, err = gateway.New(ctx, src, gateway.Options{Logger: quiet})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := gateway.Server(c.gw.Config().Listen, c.gw, nil)
	srv.ErrorLog = nil
	c.servers = append(c.servers, srv)
	go srv.Serve(ln)
	c.url = "http://" + ln.Addr().String()
	return c, nil
}

func (c *cluster) close() {
	c.stop()
	for _, s := range c.servers {
		s.Close()
	}
	c.gw.Close()
	c.ns.Close()
	for _, d := range c.disks {
		d.Close() // its directory lock
	}
}
