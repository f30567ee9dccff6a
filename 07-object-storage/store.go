package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"

	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/07-object-storage/api"
	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/dataserver"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// store is the set of servers this process runs.
type store struct {
	opt    options
	dir    string
	stdout io.Writer
	clock  clock

	servers tiers
	ns      *meta.Namespace
	meta    *meta.Server
	data    []*dataserver.Server
	disks   []*blob.Disk     // the data servers' stores, closed by close
	apis    []string         // API servers' URLs
	clients []*client.Client // API servers' clients, whose idle connections close closes
	metaURL string           // the metadata server's URL, if this process runs it
	front   *frontDoor       // the gateway, if this process runs one
}

// clock is the time the servers keep: the real one, unless a test gives
// its own to fire the background loops and move time instead of waiting.
type clock struct {
	// now, if set, is the metadata server's and the data servers' time:
	// how long a data server has been silent, a blob unreferenced, a
	// temporary file abandoned.
	now func() time.Time
	// ticker, if set, replaces time.NewTicker for every background loop:
	// it returns the channel the loop reads and a function that stops it.
	ticker func(d time.Duration) (<-chan time.Time, func())
}

// newTicker returns a channel that ticks every d, and its stop function.
func (c clock) newTicker(d time.Duration) (<-chan time.Time, func()) {
	if c.ticker != nil {
		return c.ticker(d)
	}
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// startAll starts a whole store and its gateway: every server but the
// gateway on a free port.
func (s *store) startAll() error {
	metaURL, err := s.startMeta("127.0.0.1:0")
	if err != nil {
		return err
	}
	for i := range 3 {
		if err := s.startData("127.0.0.1:0", filepath.Join(s.dir, fmt.Sprintf("data%d", i+1)), metaURL, fmt.Sprintf("data server %d", i+1)); err != nil {
			return err
		}
	}
	for i := range 2 {
		if err := s.startAPI("127.0.0.1:0", metaURL, fmt.Sprintf("API server %d", i+1)); err != nil {
			return err
		}
	}
	return s.listenGateway(s.opt.listen, s.apis)
}

func (s *store) startMeta(addr string) (string, error) {
	ns, err := meta.OpenNamespace(filepath.Join(s.dir, "meta.db"))
	if err != nil {
		return "", err
	}
	s.ns = ns
	m, err := meta.NewServer(s.metaOptions(ns))
	if err != nil {
		return "", err
	}
	s.meta = m
	ln, err := serve.Listen(addr)
	if err != nil {
		return "", err
	}
	s.servers.store.Handle(m, ln)
	u := "http://" + ln.Addr().String()
	s.metaURL = u
	fmt.Fprintf(s.stdout, "metadata server on %s\n", u)
	return u, nil
}

// metaOptions are the metadata server's options, from the flags.
func (s *store) metaOptions(ns *meta.Namespace) meta.Options {
	return meta.Options{
		Namespace: ns, Replicas: s.opt.replicas, Quorum: s.opt.quorum, Timeout: s.opt.timeout, Grace: s.opt.grace,
		KeepVersions: s.opt.keep, GCGrace: s.opt.gcGrace, Now: s.clock.now,
		// The data servers' rates, to give a repair copy or check its time.
		RepairRate: s.opt.repairRate(),
	}
}

func (s *store) startData(addr, dir, metaURL, name string) error {
	d, err := blob.OpenDisk(dir)
	if err != nil {
		return err
	}
	s.disks = append(s.disks, d)
	ln, err := serve.Listen(addr)
	if err != nil {
		return err
	}
	u := "http://" + ln.Addr().String()
	ds := dataserver.New(s.dataOptions(d, u, metaURL))
	s.servers.store.Handle(ds, ln)
	s.data = append(s.data, ds)
	fmt.Fprintf(s.stdout, "%s on %s\n", name, u)
	return nil
}

// dataOptions are the options of a data server on disk d at address u.
// Its token buckets are new ones for each server: scrubs and verifies
// read at -scrub-rate, pulls copy at -copy-rate, and neither waits for
// the other's tokens, nor for another server's.
func (s *store) dataOptions(d *blob.Disk, u, metaURL string) dataserver.Options {
	return dataserver.Options{
		Store: d, MaxBlobSize: s.opt.maxSize,
		ID: d.ID(), Addr: u, MetaURL: metaURL, Capacity: s.opt.capacity,
		ScrubLimiter: dataserver.BytesPerSecond(s.opt.scrubRate),
		CopyLimiter:  dataserver.BytesPerSecond(s.opt.copyRate),
		Now:          s.clock.now,
	}
}

// repairRate is the slowest rate, in bytes a second, at which the data
// servers copy (-copy-rate) or re-hash (-scrub-rate) a blob: the time
// the metadata server gives a repair's call, and an API server's client
// a copy that a streamed write's retry asks for.
func (o options) repairRate() int64 { return int64(min(o.copyRate, o.scrubRate)) }

// clientOptions are an API server's client's: its copies between data
// servers are timed as the metadata server times a repair's, so that a
// slower -copy-rate does not make it give up on a copy under way. (With
// -role api the data servers' rates are not known here: the defaults
// are assumed, and a lower -copy-rate on them would need the same.)
func (s *store) clientOptions(metaURL string) client.Options {
	return client.Options{MetaURL: metaURL, CopyRate: s.opt.repairRate()}
}

func (s *store) startAPI(addr, metaURL, name string) error {
	ln, err := serve.Listen(addr)
	if err != nil {
		return err
	}
	c := client.New(s.clientOptions(metaURL))
	s.clients = append(s.clients, c)
	s.servers.api.Handle(api.New(c, s.opt.maxSize, nil), ln)
	u := "http://" + ln.Addr().String()
	s.apis = append(s.apis, u)
	fmt.Fprintf(s.stdout, "%s on %s\n", name, u)
	return nil
}

// serve runs every server until ctx is done, then stops them front to
// back (tiers.run). Data servers send a first heartbeat before the
// program says it is ready, so the curl lines it prints work at once.
// The background loops (heartbeats, scrubs, repairs) run until the
// metadata and data servers stop, not until ctx is done: a data server
// silent while the gateway and the API servers drain would be suspect
// past -timeout, and given no new blobs.
func (s *store) serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	loops, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLoops()
	// Before the metadata and data servers stop, the background work
	// that talks to them ends: the loops, and the metadata server's
	// checks of bad-copy reports, which would find the data servers gone
	// and forget every copy they checked.
	storeStopping := func() {
		stopLoops()
		if s.meta != nil {
			s.meta.Close()
		}
	}
	done := make(chan error, 1)
	go func() { done <- s.servers.run(ctx, storeStopping) }()

	var beating sync.WaitGroup
	defer beating.Wait()
	for _, ds := range s.data {
		// A beat cut short by a stop (Ctrl-C during start-up) is no
		// failure: the program stops as cleanly as it would a moment later.
		if err := ds.Beat(ctx); err != nil && s.opt.role == "all" && ctx.Err() == nil {
			cancel()
			<-done
			return err
		}
		// In the other roles the metadata server may not be up yet: Run
		// keeps trying, and logs each failure.
		beat, stopBeat := s.clock.newTicker(s.opt.heartbeat)
		defer stopBeat()
		beating.Go(func() { ds.Run(loops, beat) })
		scrub, stopScrub := s.clock.newTicker(s.opt.scrubEvery)
		defer stopScrub()
		beating.Go(func() { ds.RunMaintenance(loops, scrub) })
	}
	if s.meta != nil {
		repair, stopRepair := s.clock.newTicker(s.opt.repairEvery)
		defer stopRepair()
		gc, stopGC := s.clock.newTicker(s.opt.gcEvery)
		defer stopGC()
		beating.Go(func() { s.meta.Run(loops, repair, gc) })
	}
	if err := s.startGateway(ctx); err != nil {
		cancel()
		<-done
		return err
	}
	s.printTry()
	err := <-done
	cancel()
	fmt.Fprintln(s.stdout, "stopped")
	return err
}

// printTry prints curl lines for the gateway if this process runs one,
// else for its API server; and, if it runs the metadata server, a line
// for the command-line tool, which needs its URL. A metadata server on
// its own (-role meta) has nothing to curl: it prints how to start a data
// server that joins it, since the others take its URL as -meta too.
func (s *store) printTry() {
	base, curl := "", "curl -s"
	switch {
	case s.front != nil:
		base, curl = s.front.url, "curl -s -H 'X-Api-Key: "+s.opt.apiKey+"'"
	case len(s.apis) > 0:
		base = s.apis[0]
	}
	if base != "" || s.metaURL != "" {
		fmt.Fprintf(s.stdout, "Try:\n")
	}
	switch {
	case base != "":
		fmt.Fprintf(s.stdout, "  %s -X PUT -H 'Content-Type: text/plain' -d 'hello, object store' %s/objects/greeting.txt\n", curl, base)
		fmt.Fprintf(s.stdout, "  %s %s/objects/greeting.txt\n", curl, base)
		fmt.Fprintf(s.stdout, "  %s -H 'Range: bytes=7-12' %s/objects/greeting.txt\n", curl, base)
		fmt.Fprintf(s.stdout, "  %s '%s/objects/?prefix=greet'\n", curl, base)
		fmt.Fprintf(s.stdout, "  %s %s/versions/greeting.txt\n", curl, base)
		fmt.Fprintf(s.stdout, "  %s -X DELETE %s/objects/greeting.txt\n", curl, base)
	case s.metaURL != "": // -role meta: nothing to curl yet
		fmt.Fprintf(s.stdout, "  go run ./07-object-storage -role data -meta %s\n", s.metaURL)
	}
	if s.metaURL != "" { // the command-line tool talks to the metadata server
		fmt.Fprintf(s.stdout, "  go run ./07-object-storage/cli -meta %s versions greeting.txt\n", s.metaURL)
	}
	fmt.Fprintf(s.stdout, "Stop with Ctrl-C.\n")
}

// close releases what the servers hold once they have stopped: the
// gateway's health checks, the databases, the disks, and the connections
// the servers' clients keep open between requests: the servers these
// talk to may run on (-role meta, data, api), and each connection would
// stay open until its client's idle timeout.
func (s *store) close() {
	if s.front != nil {
		s.front.close()
	}
	for _, c := range s.clients {
		c.CloseIdleConnections()
	}
	for _, ds := range s.data {
		ds.CloseIdleConnections()
	}
	if s.meta != nil {
		s.meta.Close() // its checks write to the namespace
		s.meta.CloseIdleConnections()
	}
	if s.ns != nil {
		s.ns.Close()
	}
	for _, d := range s.disks {
		d.Close()
	}
}
