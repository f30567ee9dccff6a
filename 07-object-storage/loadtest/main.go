// Command loadtest measures the object store through its gateway, beside
// a baseline that moves the same bytes over one plain HTTP hop on
// loopback: http.FileServer for reads, and for writes a handler that
// writes the body to a file and fsyncs it.
//
//	go run ./07-object-storage/loadtest                  the chapter's table
//	go run ./07-object-storage/loadtest -huge 1GiB       also one 1 GiB object, for memory
//
// Everything runs in this process on loopback: the baseline server, and
// for each replica count a whole store (metadata server, three data
// servers, two API servers, the gateway), each on its own listener. Every
// workload is bounded by a count and by a time.
//
// Each workload runs in rounds (-rounds, 3 by default). A round runs the
// baseline and each store back to back (in reverse order every other
// round), each with content of its own, so that no round finds the last
// one's objects stored, and each after sync(2) has flushed what the one
// before it wrote. A ratio is taken within a round, so that a machine
// that slows down or speeds up between rounds moves both sides of it; the
// table gives the median rate and the median ratio of the rounds. The
// heap column is the peak of runtime.MemStats.HeapInuse over the
// workload's rounds, sampled every 10 ms: it covers every server and the
// load generator together, so it is an upper bound for any one of them.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/07-object-storage/api"
	"github.com/gocourse/gateway/07-object-storage/client"
)

func main() {
	os.Exit(exitCode(os.Stderr, run(os.Args[1:], os.Stdout)))
}

// exitCode is the rule of every program of the course (serve.ExitCode):
// 0 after a run or -h, 2 for a bad command line, 1 for any other error.
func exitCode(stderr io.Writer, err error) int {
	return serve.ExitCode(stderr, "loadtest", err)
}

type options struct {
	dir      string
	large    int64
	huge     int64
	small    int
	objects  int
	clients  int
	duration time.Duration
	replicas []int
	rounds   int
	only     string
	cpuprof  string
}

func run(args []string, stdout io.Writer) error {
	var o options
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.StringVar(&o.dir, "dir", "", "`directory` for every server's files (default: a temporary one, removed)")
	large := fs.String("large", "256MiB", "`size` of the large object")
	huge := fs.String("huge", "0", "`size` of one more object put and got on every target, to watch memory (e.g. 1GiB); 0 skips it")
	fs.IntVar(&o.small, "small", 4096, "`bytes` of each small object")
	fs.IntVar(&o.objects, "count", 20000, "most small requests per workload")
	fs.IntVar(&o.clients, "clients", 16, "concurrent clients for small objects")
	fs.DurationVar(&o.duration, "duration", 3*time.Second, "longest time per small-object workload")
	reps := fs.String("replicas", "1,2", "replica counts R to measure, comma-separated")
	fs.IntVar(&o.rounds, "rounds", 3, "`rounds` of every workload (the table shows medians)")
	fs.StringVar(&o.only, "only", "", "run only workloads whose name contains this")
	fs.StringVar(&o.cpuprof, "cpuprofile", "", "write a CPU profile of the whole run (baseline included) to `file`")
	if err := serve.Parse(fs, args); err != nil {
		return err
	}
	var err error
	if o.large, err = parseSize(*large); err != nil {
		return serve.Usagef("-large %v", err)
	}
	if o.huge, err = parseSize(*huge); err != nil {
		return serve.Usagef("-huge %v", err)
	}
	if o.rounds < 1 {
		return serve.Usagef("-rounds %d: want at least 1", o.rounds)
	}
	// Each of these would make a workload do nothing: a rate of 0, or a
	// ratio of NaN, in the table.
	if o.large < 1 || o.small < 1 || o.huge < 0 || o.clients < 1 || o.objects < 1 || o.duration <= 0 {
		return serve.Usagef("-large %d -small %d -huge %d -clients %d -count %d -duration %v: want sizes, clients, count and duration above 0 (-huge may be 0)",
			o.large, o.small, o.huge, o.clients, o.objects, o.duration)
	}
	for r := range strings.SplitSeq(*reps, ",") {
		n, err := strconv.Atoi(r)
		if err != nil || n < 1 || n > 3 {
			return serve.Usagef("-replicas: %q is not 1, 2 or 3", r)
		}
		// Two stores of one R would share a directory (the second would
		// wait for the first's locks) and a column of the table.
		if slices.Contains(o.replicas, n) {
			return serve.Usagef("-replicas: %d is given twice", n)
		}
		o.replicas = append(o.replicas, n)
	}
	if o.dir == "" {
		if o.dir, err = os.MkdirTemp("", "loadtest-"); err != nil {
			return err
		}
		defer os.RemoveAll(o.dir)
	} else if entries, err := os.ReadDir(o.dir); err == nil && len(entries) > 0 {
		// Every run puts the same content at the same paths: a store
		// here would find it stored (a deduplicated PUT skips the write
		// and its fsync), and the baseline would overwrite its files.
		return serve.Usagef("-dir %s is not empty: an earlier run's store would deduplicate this run's PUTs; give a new or empty directory", o.dir)
	}
	if o.cpuprof != "" {
		f, err := os.Create(o.cpuprof)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	return measure(o, stdout)
}

// newHTTPClient returns the load generator's client. client.NewTransport
// keeps 64 idle connections a host, and 100 in all: with more clients, or
// more than 33 on each of three targets, connections would be closed and
// dialled again, on some targets and not others, and a workload would
// measure TCP set-up. Here every client keeps one to every target.
func newHTTPClient(clients int) *http.Client {
	t := client.NewTransport()
	t.MaxIdleConnsPerHost = max(t.MaxIdleConnsPerHost, clients)
	t.MaxIdleConns = 0 // no limit across hosts
	return &http.Client{Transport: t}
}

// target is what a workload runs against: a base URL, and the header a
// request needs there.
type target struct {
	name   string
	url    string
	apiKey string
	// behind, for a store, counts the requests its metadata and data
	// servers have received (cluster.behind): the cached GET workloads
	// check that none of their timed GETs reached them.
	behind func() int64
	// apiCalls, for a store, counts the requests its API servers have
	// received (cluster.apiCalls): the workload of GETs the gateway's
	// cache answers checks that none of its timed GETs reached them.
	apiCalls func() int64
}

// result is one workload's outcome on one target.
type result struct {
	rate float64 // MB/s or ops/s
	heap uint64  // peak HeapInuse, bytes
	err  error
}

type workload struct {
	name, unit string
	run        func(t target) (float64, error)
}

func measure(o options, stdout io.Writer) error {
	hc := newHTTPClient(o.clients)
	l := &load{hc: hc, o: o, stored: map[string]int{}, cacheTTL: metaCacheTTL}
	base, err := startBaseline(filepath.Join(o.dir, "baseline"))
	if err != nil {
		return err
	}
	defer base.Close()
	targets := []target{{name: "baseline", url: base.URL}}
	for _, r := range o.replicas {
		c, err := startCluster(filepath.Join(o.dir, fmt.Sprintf("store-r%d", r)), r)
		if err != nil {
			return err
		}
		defer c.close()
		targets = append(targets, target{name: fmt.Sprintf("R=%d", r), url: c.url, apiKey: apiKey, behind: c.behind.Load, apiCalls: c.apiCalls.Load})
	}

	size := sizeName(o.large)
	small := fmt.Sprintf("%s x%d", sizeName(int64(o.small)), o.clients)
	workloads := []workload{
		{"PUT " + size, "MB/s", func(t target) (float64, error) { return l.putLarge(t, "large", o.large) }},
		{"PUT " + size + ", hash sent", "MB/s", func(t target) (float64, error) { return l.putLargeHashed(t, "large-hashed", o.large) }},
		{"GET " + size + ", cold", "MB/s", func(t target) (float64, error) { return l.getLarge(t, "large", o.large) }},
		{"PUT " + small, "ops/s", l.putSmall},
		{"GET " + small + ", cached in gateway", "ops/s", func(t target) (float64, error) { return l.getSmall(t, inGateway) }},
		{"GET " + small + ", cached in API", "ops/s", func(t target) (float64, error) { return l.getSmall(t, inAPIServer) }},
	}
	if o.huge > 0 {
		huge := sizeName(o.huge)
		workloads = append(workloads,
			workload{"PUT " + huge, "MB/s", func(t target) (float64, error) { return l.putLarge(t, "huge", o.huge) }},
			workload{"GET " + huge + ", cold", "MB/s", func(t target) (float64, error) { return l.getLarge(t, "huge", o.huge) }})
	}
	workloads = slices.DeleteFunc(workloads, func(w workload) bool { return o.only != "" && !strings.Contains(w.name, o.only) })

	// rounds[workload][target] holds one result per round.
	rounds := map[string]map[string][]result{}
	for _, w := range workloads {
		rounds[w.name] = map[string][]result{}
		for round := range o.rounds {
			l.round = round
			for _, t := range inOrder(targets, round) {
				settle()
				runtime.GC()
				peak := sampleHeap()
				rate, err := w.run(t)
				r := result{rate: rate, heap: peak(), err: err}
				rounds[w.name][t.name] = append(rounds[w.name][t.name], r)
				fmt.Fprintf(os.Stderr, "round %d  %-10s %-26s %10.1f %-5s heap %4d MiB %v\n", round+1, t.name, w.name, rate, w.unit, r.heap>>20, errOrEmpty(err))
				if err != nil {
					return fmt.Errorf("%s %s: %w", t.name, w.name, err)
				}
			}
		}
	}

	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "workload\tunit\t")
	for _, t := range targets {
		fmt.Fprintf(tw, "%s\t", t.name)
		if t.name != "baseline" {
			fmt.Fprintf(tw, "x base\theap MiB\t")
		}
	}
	fmt.Fprintln(tw)
	for _, w := range workloads {
		fmt.Fprintf(tw, "%s\t%s\t", w.name, w.unit)
		baseline := rounds[w.name]["baseline"]
		for _, t := range targets {
			rs := rounds[w.name][t.name]
			fmt.Fprintf(tw, "%.0f\t", median(rs, func(_ int, r result) float64 { return r.rate }))
			if t.name == "baseline" {
				continue
			}
			ratio := ratio(rs, baseline)
			var heap uint64
			for _, r := range rs {
				heap = max(heap, r.heap)
			}
			fmt.Fprintf(tw, "%.2f\t%d\t", ratio, heap>>20)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "(medians of %d rounds, each ratio taken within its round; %s, %d CPUs, GOMAXPROCS %d; heap: peak HeapInuse of the whole process)\n",
		o.rounds, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	return nil
}

// inOrder returns the targets in the order a round runs them: every
// other round the other way round, so that going first, or last just
// after another target's writes, is nobody's advantage for long.
func inOrder(targets []target, round int) []target {
	order := slices.Clone(targets)
	if round%2 == 1 {
		slices.Reverse(order)
	}
	return order
}

// ratio is the median over the rounds of a store's rate divided by the
// baseline's in the same round: not the ratio of the two medians, which
// could pair a fast round of one with a slow round of the other.
func ratio(store, baseline []result) float64 {
	return median(store, func(i int, r result) float64 { return r.rate / baseline[i].rate })
}

// median returns the median of f over rs (the mean of the middle two for
// an even count).
func median(rs []result, f func(i int, r result) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(i, r)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func errOrEmpty(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// sampleHeap samples HeapInuse every 10 ms until the returned function is
// called, which returns the peak.
func sampleHeap() func() uint64 {
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	read := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if m.HeapInuse > peak.Load() {
			peak.Store(m.HeapInuse)
		}
	}
	go func() {
		defer close(done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			read()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(stop); <-done; read(); return peak.Load() }
}

// load runs workloads.
type load struct {
	hc     *http.Client
	o      options
	round  int            // the round running: it picks the content
	stored map[string]int // small objects stored, by target and round (storedKey)
	// cacheTTL bounds the cached GET workload, warm-up included: after
	// it the API servers look keys up again (0: no bound).
	cacheTTL time.Duration
}

func (l *load) storedKey(t target) string { return fmt.Sprintf("%s/%d", t.name, l.round) }

func (l *load) do(t target, method, path string, body io.Reader, size int64, header ...string) error {
	req, err := http.NewRequestWithContext(context.Background(), method, t.url+path, body)
	if err != nil {
		return err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if body != nil {
		req.ContentLength = size
	}
	if t.apiKey != "" {
		req.Header.Set("X-Api-Key", t.apiKey)
	}
	resp, err := l.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if method == http.MethodGet && n != size {
		return fmt.Errorf("GET %s: %d bytes, want %d", path, n, size)
	}
	return nil
}

// path is the path of object name in this round. Each round writes new
// objects on every target, so that the baseline, like the store, keeps
// what earlier rounds wrote: overwriting one file would let it reuse the
// same pages of the page cache, which, on a virtual machine, is faster
// than taking new ones (the store's large PUTs were half as fast after
// its first gigabyte while the baseline's were not).
func (l *load) path(name string) string { return fmt.Sprintf("/objects/%s/%d", name, l.round) }

func (l *load) putLarge(t target, name string, size int64) (float64, error) {
	start := time.Now()
	if err := l.do(t, http.MethodPut, l.path(name), &pattern{n: size, seed: 1, salt: uint64(l.round)}, size); err != nil {
		return 0, err
	}
	return float64(size) / 1e6 / time.Since(start).Seconds(), nil
}

// putLargeHashed is putLarge for a client that sends the content's
// SHA-256 first (api.DigestHeader), which lets the API server stream the
// body to the data servers instead of spooling it. The client hashes its
// content before the clock starts, as an S3 client signing its payload
// does before it sends; different content from putLarge's, so that the
// store does not find it stored already.
func (l *load) putLargeHashed(t target, name string, size int64) (float64, error) {
	content := func() io.Reader { return &pattern{n: size, seed: 2, salt: uint64(l.round)} }
	sum := sha256.New()
	if _, err := io.Copy(sum, content()); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := l.do(t, http.MethodPut, l.path(name), content(), size, api.DigestHeader, hex.EncodeToString(sum.Sum(nil))); err != nil {
		return 0, err
	}
	return float64(size) / 1e6 / time.Since(start).Seconds(), nil
}

// getLarge gets an object put earlier, once: cold for the store, whose
// API servers cache only small blobs and forget the metadata of what
// they write. The operating system's page cache is not dropped (that
// takes root), on either side.
func (l *load) getLarge(t target, name string, size int64) (float64, error) {
	start := time.Now()
	if err := l.do(t, http.MethodGet, l.path(name), nil, size); err != nil {
		return 0, err
	}
	return float64(size) / 1e6 / time.Since(start).Seconds(), nil
}

// concurrently runs op with l.o.clients goroutines, each calling it with
// the next number, until l.o.objects calls or l.o.duration, and returns
// calls per second.
func (l *load) concurrently(op func(i int) error) (float64, error) {
	var next atomic.Int64
	deadline := time.Now().Add(l.o.duration)
	var wg sync.WaitGroup
	errs := make([]error, l.o.clients)
	start := time.Now()
	for c := range l.o.clients {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				i := next.Add(1) - 1
				if i >= int64(l.o.objects) {
					return
				}
				if err := op(int(i)); err != nil {
					errs[c] = err
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	done := min(next.Load(), int64(l.o.objects))
	return float64(done) / elapsed.Seconds(), errors.Join(errs...)
}

func (l *load) putSmall(t target) (float64, error) {
	n := int64(l.o.small)
	var stored atomic.Int64
	defer func() { l.stored[l.storedKey(t)] = int(stored.Load()) }()
	return l.concurrently(func(i int) error {
		defer stored.Add(1)
		content := &pattern{n: n, seed: byte(i), salt: uint64(i) | uint64(l.round)<<40}
		return l.do(t, http.MethodPut, fmt.Sprintf("/objects/small/%d/%d", l.round, i), content, n)
	})
}

// cachedKeys is the most small objects the cached GET workload reads:
// 256 of 4 KiB, well within the API servers' data caches.
const cachedKeys = 256

// errPastCacheTTL reports a cached GET workload that outlasted the
// metadata cache: its last GETs were not all cached.
var errPastCacheTTL = errors.New("the cached GETs outlasted the API servers' metadata cache; use a shorter -duration")

// errNotCached reports a cached GET workload some of whose timed GETs
// reached the metadata server or a data server: the row would not measure
// what it is called.
var errNotCached = errors.New("the cached GETs were not all served from the API servers' caches")

// errNotCachedInGateway reports a workload of GETs the gateway's cache
// should answer some of which reached an API server.
var errNotCachedInGateway = errors.New("the cached GETs were not all answered by the gateway's cache")

// cacheTier is the cache a cached GET workload measures.
type cacheTier int

const (
	// inGateway: chapter 06's cache in the gateway answers every timed
	// GET (the API servers let it keep their answers for as long as they
	// keep the metadata; see api.cacheControl). No API server sees one.
	inGateway cacheTier = iota
	// inAPIServer: every timed GET says Cache-Control: no-cache, which
	// has the gateway's cache ask the API server (and keep the new
	// answer), and the API server answers from its own caches: the row
	// measures two hops, the gateway's and the API server's.
	inAPIServer
)

// getSmall gets small objects the PUT workload stored, each read once
// before the clock starts, so that every GET is served from a cache:
// the gateway's, or (tier inAPIServer) those of the API server its key
// hashes to. The metadata cache keeps an entry for l.cacheTTL after the
// warm-up read it, and the gateway's cache no longer: a run that takes
// longer is refused, since some of its GETs asked the metadata server;
// so is a run in which any timed GET reached the metadata or data
// servers (t.behind), or, in the gateway's tier, an API server
// (t.apiCalls). The baseline serves both tiers' GETs alike.
func (l *load) getSmall(t target, tier cacheTier) (float64, error) {
	n := int64(l.o.small)
	// The PUT workload's round stored small/R/0, small/R/1, ...; read the
	// first ones once, so that the API server each key hashes to has it
	// cached.
	stored := l.stored[l.storedKey(t)]
	if stored == 0 {
		return 0, errors.New("no small objects: run the PUT workload first")
	}
	// Each tier reads keys of its own (half of those stored, if there are
	// fewer than 2*cachedKeys), so that its warm-up is the first read of
	// its keys since the PUTs: the metadata it caches is fetched then, and
	// the TTL check below bounds the run exactly. Keys the other tier read
	// a moment before would be cached since then, and could run out under
	// the timed GETs.
	keys := min(cachedKeys, max(1, stored/2))
	first := min(int(tier)*keys, stored-keys)
	key := func(i int) string { return fmt.Sprintf("/objects/small/%d/%d", l.round, first+i%keys) }
	// The warm-up goes where the timed GETs go: in the API servers' tier,
	// past the gateway's cache.
	var header []string
	if tier == inAPIServer {
		header = []string{"Cache-Control", "no-cache"}
	}
	warm := time.Now()
	for i := range keys {
		if err := l.do(t, http.MethodGet, key(i), nil, n, header...); err != nil {
			return 0, fmt.Errorf("warming up (run the PUT workload first): %w", err)
		}
	}
	var before, beforeAPI int64
	if t.behind != nil {
		before = t.behind()
	}
	if t.apiCalls != nil {
		beforeAPI = t.apiCalls()
	}
	rate, err := l.concurrently(func(i int) error {
		return l.do(t, http.MethodGet, key(i), nil, n, header...)
	})
	if took := time.Since(warm); err == nil && l.cacheTTL > 0 && took >= l.cacheTTL {
		err = fmt.Errorf("%w (warm-up and workload took %v; entries live %v)", errPastCacheTTL, took.Round(time.Millisecond), l.cacheTTL)
	}
	// The TTL is one way to miss; a gateway that moved keys to the other
	// API server, or a cache that evicted them, are others. Count them.
	if err == nil && t.behind != nil {
		if missed := t.behind() - before; missed > 0 {
			err = fmt.Errorf("%w: %d requests reached the metadata or data servers", errNotCached, missed)
		}
	}
	if err == nil && tier == inGateway && t.apiCalls != nil {
		if missed := t.apiCalls() - beforeAPI; missed > 0 {
			err = fmt.Errorf("%w: %d requests reached an API server", errNotCachedInGateway, missed)
		}
	}
	return rate, err
}

// pattern yields n bytes that differ by seed and salt, without holding
// them in memory: one random MiB (noise), repeated, with the first eight
// bytes of each MiB mixed with the MiB's number, the seed and the salt, so
// that no two MiBs of an object, and no two objects, are alike. It is
// mostly a copy, and cheap: the load generator shares the two cores with
// every server it measures, and a byte-by-byte generator took a quarter
// of a large PUT's CPU.
type pattern struct {
	n, off int64
	seed   byte
	salt   uint64
}

var noise = func() []byte {
	b := make([]byte, 1<<20)
	rand.NewChaCha8([32]byte{'l', 'o', 'a', 'd'}).Read(b)
	return b
}()

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	block, at := p.off/int64(len(noise)), p.off%int64(len(noise))
	k := copy(b[:min(int64(len(b)), p.n-p.off)], noise[at:])
	if at < 8 {
		mark := mix(p.salt ^ mix(uint64(p.seed)<<48^uint64(block)))
		for j := at; j < min(8, at+int64(k)); j++ {
			b[j-at] ^= byte(mark >> (8 * j))
		}
	}
	p.off += int64(k)
	return k, nil
}

// mix is SplitMix64's finaliser: a different input, a different output.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

func parseSize(in string) (int64, error) {
	s, mult := in, int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if v, ok := strings.CutSuffix(s, suffix); ok {
			s, mult = v, m
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is not a size such as 256MiB", in)
	}
	return n * mult, nil
}

// sizeName names n bytes in the largest unit that divides it exactly:
// "256 MiB", "4 KiB", "1000 B".
func sizeName(n int64) string {
	switch {
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
