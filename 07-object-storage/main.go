// Command 07-object-storage runs the mini distributed object store: a
// metadata server, data servers and stateless API servers, behind chapter
// 06's gateway. With no -role it starts all of it in one process: one
// metadata server, three data servers and two API servers on free ports,
// and the gateway on 127.0.0.1:8080.
//
//	go run ./07-object-storage
//
// Each part can also run on its own, to spread the store over processes
// or machines:
//
//	go run ./07-object-storage -role meta -data /tmp/meta
//	go run ./07-object-storage -role data -data /tmp/d1 -listen 127.0.0.1:9101
//	go run ./07-object-storage -role api -listen 127.0.0.1:8081
//	go run ./07-object-storage -role gateway -targets http://127.0.0.1:8081
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

func main() { serve.Main("07-object-storage", run) }

// options are the program's flags.
type options struct {
	role      string
	listen    string
	data      string
	metaURL   string
	replicas  int
	quorum    int
	heartbeat time.Duration
	timeout   time.Duration
	maxSize   int64
	capacity  int64

	// The gateway (-role all and gateway).
	targets []string
	admin   string
	apiKey  string
	rate    float64

	// Maintenance (part 2).
	grace       time.Duration
	repairEvery time.Duration
	scrubEvery  time.Duration
	gcEvery     time.Duration
	gcGrace     time.Duration
	keep        int
	copyRate    int
	scrubRate   int
}

// defaultListen is each role's address when -listen is not given.
var defaultListen = map[string]string{
	"all": "127.0.0.1:8080", "meta": "127.0.0.1:9100", "data": "127.0.0.1:9101", "api": "127.0.0.1:8081",
	"gateway": "127.0.0.1:8080",
}

func newFlagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("07-object-storage", flag.ContinueOnError)
	fs.StringVar(&o.role, "role", "all", "what to run: `all` (a whole store and its gateway in this process), meta, data, api or gateway")
	fs.StringVar(&o.listen, "listen", "",
		"`address` to listen on; defaults: all 127.0.0.1:8080 (the gateway; every other server\n"+
			"takes a free port), meta 127.0.0.1:9100, data 127.0.0.1:9101, api 127.0.0.1:8081, gateway 127.0.0.1:8080")
	fs.StringVar(&o.data, "data", "",
		"`directory` for the metadata database (meta) or the blobs (data), or both (all);\n"+
			"if not set, a temporary directory that is removed on stop")
	fs.StringVar(&o.metaURL, "meta", "http://127.0.0.1:9100", "metadata server `URL`, for -role data and api")
	fs.IntVar(&o.replicas, "replicas", 2, "copies of each blob, R (meta)")
	fs.IntVar(&o.quorum, "quorum", 0, "copies confirmed before a version is committed, W; 0 means R (meta)")
	fs.DurationVar(&o.heartbeat, "heartbeat", 2*time.Second, "how often a data server sends a heartbeat")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "silence after which the metadata server takes a data server for suspect (no new blobs); dead only after -grace more (meta)")
	fs.Int64Var(&o.maxSize, "max-size", 1<<30, "largest object or blob, in `bytes` (data, api; gateway: a larger body is refused there, 413)")
	fs.Int64Var(&o.capacity, "capacity", 100<<30, "`bytes` a data server may store: it refuses writes past it (507), and says how much is free in its heartbeats; 0 for no limit")
	fs.Func("targets", "the API servers' base `URLs`, comma-separated, for -role gateway", func(v string) error {
		o.targets = strings.Split(v, ",")
		return nil
	})
	fs.StringVar(&o.admin, "admin", "127.0.0.1:0", "`address` of the gateway's admin listener (health, metrics)")
	fs.StringVar(&o.apiKey, "api-key", "demo-key", "the `key` clients send in X-Api-Key to the gateway")
	fs.Float64Var(&o.rate, "rate", 100, "`requests` per second the gateway lets each client IP send (burst: twice that)")
	fs.DurationVar(&o.grace, "grace", 30*time.Second, "after -timeout, a silent data server is suspect for this long, then dead and its blobs are copied elsewhere (meta)")
	fs.DurationVar(&o.repairEvery, "repair-every", 30*time.Second, "how often the metadata server runs a repair round (meta)")
	fs.DurationVar(&o.gcEvery, "gc-every", 10*time.Minute, "how often the metadata server collects garbage (meta)")
	fs.DurationVar(&o.gcGrace, "gc-grace", time.Hour, "how long a blob stays unreferenced before it is deleted (meta)")
	fs.IntVar(&o.keep, "keep", 0, "versions with data kept per key; 0 keeps all (meta)")
	fs.DurationVar(&o.scrubEvery, "scrub-every", time.Hour, "how often a data server re-hashes all its blobs (data)")
	fs.IntVar(&o.scrubRate, "scrub-rate", 20<<20, "`bytes` per second a scrub may read (data; meta: to time its repair calls)")
	fs.IntVar(&o.copyRate, "copy-rate", 50<<20, "`bytes` per second a data server may copy from another (repairs, and a streamed write's copies after a lost copy) (data; meta: to time its repair calls)")
	return fs
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	return runOn(ctx, clock{}, args, stdout)
}

// runOn is run on clk: tests drive the background loops with it.
func runOn(ctx context.Context, clk clock, args []string, stdout io.Writer) error {
	var o options
	fs := newFlagSet(&o)
	if err := serve.Parse(fs, args); err != nil {
		return err
	}
	if _, ok := defaultListen[o.role]; !ok {
		return serve.Usagef("-role %q: want all, meta, data, api or gateway", o.role)
	}
	if err := checkRoleFlags(fs, o.role); err != nil {
		return err
	}
	if o.listen == "" {
		o.listen = defaultListen[o.role]
	}
	// Both addresses are checked before anything starts: in -role all the
	// gateway listens last, after the other servers have started, and
	// serve.Listen would name -listen for a bad -admin.
	if err := serve.CheckAddress("-listen", o.listen); err != nil {
		return err
	}
	if o.role == "all" || o.role == "gateway" {
		if err := serve.CheckAddress("-admin", o.admin); err != nil {
			return err
		}
	}
	if o.role == "data" {
		if err := announceable(o.listen); err != nil {
			return err
		}
	}
	if o.replicas < 1 || o.quorum < 0 || o.quorum > o.replicas {
		return serve.Usagef("-replicas %d -quorum %d: want 1 <= quorum <= replicas (0 means replicas)", o.replicas, o.quorum)
	}
	// -heartbeat is the data servers' flag, -timeout the metadata
	// server's: only -role all runs both, and can compare them. A data
	// server and a metadata server in processes of their own are each
	// refused the other's flag, so neither checks against the other's
	// default.
	if o.heartbeat <= 0 || o.timeout <= 0 || (o.role == "all" && o.timeout <= o.heartbeat) {
		return serve.Usagef("-heartbeat %v -timeout %v: want 0 < heartbeat < timeout", o.heartbeat, o.timeout)
	}
	if o.grace < 0 || o.repairEvery <= 0 || o.scrubEvery <= 0 || o.gcEvery <= 0 || o.gcGrace <= 0 || o.keep < 0 {
		return serve.Usagef("-grace, -keep: want >= 0; -repair-every, -scrub-every, -gc-every, -gc-grace: want > 0")
	}
	if o.scrubRate <= 0 || o.copyRate <= 0 {
		return serve.Usagef("-scrub-rate %d -copy-rate %d: want positive numbers of bytes per second", o.scrubRate, o.copyRate)
	}
	if o.maxSize <= 0 {
		return serve.Usagef("-max-size %d: want a positive number of bytes", o.maxSize)
	}
	if o.capacity < 0 {
		// The metadata server refuses every heartbeat that reports it:
		// the data server would run, and never be given a blob.
		return serve.Usagef("-capacity %d: want a number of bytes, 0 or more", o.capacity)
	}
	if err := o.checkGateway(); err != nil {
		return err
	}
	if o.role == "data" || o.role == "api" {
		if !isBaseURL(o.metaURL) {
			return serve.Usagef("-meta %q: want a base URL such as http://127.0.0.1:9100", o.metaURL)
		}
		o.metaURL = strings.TrimSuffix(o.metaURL, "/")
	}

	dir, cleanup := "", func() {}
	var err error
	if o.role == "all" || o.role == "meta" || o.role == "data" { // api and gateway keep no data
		if dir, cleanup, err = dataDir(o.data, stdout); err != nil {
			return err
		}
	}
	defer cleanup()

	s := &store{opt: o, dir: dir, stdout: stdout, clock: clk}
	defer s.close()
	switch o.role {
	case "all":
		err = s.startAll()
	case "meta":
		_, err = s.startMeta(o.listen)
	case "data":
		err = s.startData(o.listen, dir, o.metaURL, "data server")
	case "api":
		err = s.startAPI(o.listen, o.metaURL, "API server")
	case "gateway":
		err = s.listenGateway(o.listen, o.targets)
	}
	if err != nil {
		s.servers.close()
		return err
	}
	return s.serve(ctx)
}

// dataDir returns dir, or a new temporary directory that cleanup removes.
func dataDir(dir string, stdout io.Writer) (string, func(), error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, fmt.Errorf("-data %q: %w", dir, err)
		}
		fmt.Fprintf(stdout, "data (kept): %s\n", dir)
		return dir, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "07-object-storage-")
	if err != nil {
		return "", nil, err
	}
	fmt.Fprintf(stdout, "data (removed on stop; keep it with -data DIR): %s\n", dir)
	return dir, func() { os.RemoveAll(dir) }, nil
}

// checkGateway checks the gateway's flags.
func (o *options) checkGateway() error {
	if o.role == "gateway" && len(o.targets) == 0 {
		return serve.Usagef("-role gateway: give the API servers' URLs with -targets URL,URL")
	}
	for i, t := range o.targets {
		if !isBaseURL(t) {
			return serve.Usagef("-targets: %q is not a base URL such as http://127.0.0.1:8081", t)
		}
		o.targets[i] = strings.TrimSuffix(t, "/")
	}
	if o.apiKey == "" {
		return serve.Usagef("-api-key: want a key clients must send")
	}
	if !(o.rate > 0 && o.rate <= maxRate) { // NaN fails both
		return serve.Usagef("-rate %v: want a positive number of requests per second, at most %g", o.rate, float64(maxRate))
	}
	return nil
}

// isBaseURL reports whether v names a server and nothing more, as
// meta.CheckAddr asks of a data server's address; a trailing "/" is
// allowed, and trimmed by the caller. A request's path is appended to
// it, so with "http://127.0.0.1:9100/status" as -meta every lookup got
// the metadata server's 404 for an unknown path, which an API server
// took for "no such object".
func isBaseURL(v string) bool {
	return meta.CheckAddr(strings.TrimSuffix(v, "/")) == nil
}

// maxRate bounds -rate: the burst, twice the rate, must fit an int, and
// no client sends a billion requests a second.
const maxRate = 1e9

// announceable checks a data server's -listen: the server tells the
// metadata server "http://" + this address, and clients and the other
// data servers dial it. An address of every interface (":9101",
// "0.0.0.0:9101", "[::]:9101") is one nobody else can dial.
func announceable(listen string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return serve.Usagef("-listen %q: want host:port: %v", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		return serve.Usagef("-listen %q: a data server announces the address it listens on, and this one names no host others can reach; give this machine's address, such as 10.0.0.5:9101", listen)
	}
	return nil
}
