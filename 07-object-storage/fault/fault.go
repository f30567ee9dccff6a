// Package fault runs a whole store in one process through random
// operations and faults, all drawn from one seeded random source, and
// checks the store's promises after every step:
//
//   - every committed version that has not been deleted (the newest
//     version with data, and every version the keep policy keeps) reads
//     back byte for byte; an older version reads back byte for byte or
//     is gone (pruned), and once gone stays gone;
//   - a key whose newest version is a delete marker reads as not found;
//   - every put succeeds: the faults leave at least R servers running,
//     and a GC that runs between a put's uploads and its commit (with
//     or without a metadata server restart first) leaves its blob alone;
//   - a committed blob is on at least W = R running servers, each
//     recorded, right after its commit;
//   - every damaged copy on a data server's disk is one the run damaged:
//     the store never makes one (a repair that copies from a damaged
//     copy, say);
//   - after the last step, a blob over one chunk with a byte flipped in
//     the copy a reader tries first reads back byte for byte (its reads
//     stream, checked chunk by chunk);
//   - once the faults stop and killed servers are back, every blob is on
//     exactly R servers with intact copies within a bounded number of
//     repair rounds, and garbage collection then leaves no unreferenced
//     blob on any data server.
//
// Faults are data server kills and restarts, flipped bytes in blob
// files, and metadata server restarts, interleaved with puts (some with
// a GC between their uploads and their commit), deletes,
// reads, clock ticks, scrubs, repair rounds and garbage collections. A
// fault is injected only if every blob the metadata server records keeps
// at least one intact, recorded copy on a running server: with R copies
// the store promises to survive R-1 failures at a time, not more.
//
// Everything runs in the test's goroutine, one step at a time, so a
// seed replays exactly.
package fault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/meta"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// Config is one run.
type Config struct {
	Seed     uint64
	Steps    int // operations and faults; default 60
	Data     int // data servers; default 4
	Replicas int // R; default 2
	Keep     int // versions with data kept per key; default 2
	Keys     int // distinct keys; default 6
	// MaxRounds bounds the repair rounds after the faults stop; default 3.
	MaxRounds int
}

// Result counts what a run did.
type Result struct {
	Steps  map[string]int // by kind, faults included
	Reads  int            // reads checked
	Rounds int            // repair rounds it took to get back to R copies
}

// Faults counts the faults injected, including "wipe" steps once
// exercise 4 of the chapter adds them. A "put-restart-gc" step is a put
// during which the metadata server restarts.
func (r Result) Faults() int {
	return r.Steps["kill"] + r.Steps["restart"] + r.Steps["corrupt"] + r.Steps["restart-meta"] +
		r.Steps["put-restart-gc"] + r.Steps["wipe"]
}

type version struct {
	number  uint64
	data    []byte
	deleted bool
}

type run struct {
	t      testing.TB
	cfg    Config
	rnd    *rand.Rand
	cl     *storetest.Cluster
	c      *client.Client
	keys   map[string][]version       // the model: what was committed
	pruned map[string]map[uint64]bool // versions seen gone
	res    Result
	log    []string // the steps, for the failure message
	// damaged holds, by data server ID, the copies the run has flipped
	// a byte in and that are still damaged on that server's disk.
	damaged map[string]map[blob.Hash]bool
	// beforeCommit, if set, runs once when the client is about to send
	// its next commit: after the blob is uploaded, before it is
	// referenced (see put).
	beforeCommit func() error
}

// commitHook lets the run act between a put's uploads and its commit.
// http.Client calls RoundTrip in the caller's goroutine, so the hook runs
// in the test's goroutine too, and a seed still replays exactly.
type commitHook struct {
	r    *run
	base http.RoundTripper
}

func (h commitHook) RoundTrip(req *http.Request) (*http.Response, error) {
	if f := h.r.beforeCommit; f != nil && req.Method == http.MethodPost && req.URL.Path == "/commits" {
		h.r.beforeCommit = nil
		if err := f(); err != nil {
			return nil, err
		}
	}
	return h.base.RoundTrip(req)
}

// Run runs cfg and fails t at the first broken promise.
func Run(t testing.TB, cfg Config) Result {
	t.Helper()
	if cfg.Steps == 0 {
		cfg.Steps = 60
	}
	if cfg.Data == 0 {
		cfg.Data = 4
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = 2
	}
	if cfg.Keep == 0 {
		cfg.Keep = 2
	}
	if cfg.Keys == 0 {
		cfg.Keys = 6
	}
	if cfg.MaxRounds == 0 {
		cfg.MaxRounds = 3
	}
	r := &run{
		t: t, cfg: cfg, rnd: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed)),
		keys: map[string][]version{}, pruned: map[string]map[uint64]bool{},
		damaged: map[string]map[blob.Hash]bool{},
		res:     Result{Steps: map[string]int{}},
	}
	r.cl = storetest.New(t, cfg.Data, meta.Options{
		Replicas: cfg.Replicas, Timeout: 10 * time.Second, Grace: 30 * time.Second,
		KeepVersions: cfg.Keep, GCGrace: time.Hour,
	})
	r.c = client.New(client.Options{
		MetaURL: r.cl.MetaURL, TempDir: t.TempDir(), Now: r.cl.Clock.Now, Log: storetest.Quiet,
		MetaCacheEntries: -1, DataCacheBytes: 1, // no caches: every read goes to the data servers
		HTTP: &http.Client{Transport: commitHook{r: r, base: client.NewTransport()}},
	})
	for step := range cfg.Steps {
		kind := r.step()
		if kind == "wipe" {
			r.checkWiped()
		}
		r.res.Steps[kind]++
		r.log = append(r.log, fmt.Sprintf("%d: %s", step, kind))
		r.check(fmt.Sprintf("after step %d (%s)", step, kind))
	}
	r.streamed()
	r.recover()
	return r.res
}

var ctx = context.Background()

// checkWiped checks that a step of kind "wipe" (exercise 4 in the
// chapter) wiped something: a running data server's blobs/ directory is
// gone. Without it, a step that only counts itself, removes a path with
// a typo in it (os.RemoveAll of nothing succeeds) or wipes a server that
// is down passes every invariant, and the exercise's check with it.
func (r *run) checkWiped() {
	for _, d := range r.cl.Data {
		if _, err := os.Stat(filepath.Join(d.Dir, "blobs")); !d.Down && errors.Is(err, fs.ErrNotExist) {
			return
		}
	}
	r.fatalf(`a step of kind "wipe" left the blobs/ directory of every running data server in place: it must remove one's (see exercise 4 in the chapter)`)
}

// fatalf stops the run with the seed and the steps that led here.
func (r *run) fatalf(format string, args ...any) {
	r.t.Helper()
	steps := r.log
	if len(steps) > 30 {
		steps = steps[len(steps)-30:]
	}
	r.t.Fatalf("seed %d: %s\nlast steps:\n  %s", r.cfg.Seed, fmt.Sprintf(format, args...), strings.Join(steps, "\n  "))
}

// step does one random thing and says what.
func (r *run) step() string {
	switch n := r.rnd.IntN(100); {
	case n < 30:
		return r.put()
	case n < 40:
		return r.delete()
	case n < 45:
		return "read" // check reads everything after every step
	case n < 53:
		return r.kill()
	case n < 61:
		return r.restart()
	case n < 69:
		return r.corrupt()
	case n < 73:
		r.cl.RestartMeta()
		r.cl.Beat()
		return "restart-meta"
	case n < 85:
		r.cl.Clock.Add(time.Duration(5+r.rnd.IntN(35)) * time.Second)
		r.cl.Beat()
		return "tick"
	case n < 92:
		if _, err := r.cl.Meta().RepairRound(ctx); err != nil {
			r.fatalf("repair round: %v", err)
		}
		return "repair"
	case n < 96:
		return r.scrub()
	default:
		r.cl.Clock.Add(time.Duration(r.rnd.IntN(40)) * time.Minute)
		r.cl.Beat()
		if _, err := r.cl.Meta().GC(ctx); err != nil {
			r.fatalf("gc: %v", err)
		}
		return "gc"
	}
}

func (r *run) key() string { return fmt.Sprintf("k%d", r.rnd.IntN(r.cfg.Keys)) }

func (r *run) put() string {
	key := r.key()
	size := r.rnd.IntN(2048)
	if r.rnd.IntN(25) == 0 { // now and then a blob over one chunk, which reads stream
		size = blob.ChunkSize + r.rnd.IntN(64<<10)
	}
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(r.rnd.UintN(256))
	}
	if r.rnd.IntN(5) == 0 { // reuse content: deduplication
		if old := r.anyData(); old != nil {
			data = old
		}
	}
	// Now and then a GC runs while the put is in flight: its blob is
	// uploaded but not yet referenced, and placed less than the grace
	// period ago, so GC must leave it alone and the commit must succeed.
	// Half the time the metadata server restarts first, which forgets
	// the placement: then only the grace period protects the blob.
	kind := "put"
	var gcErr error
	if r.rnd.IntN(6) == 0 {
		kind = "put-gc"
		wait := time.Duration(r.rnd.IntN(50)) * time.Minute // GCGrace is an hour
		restart := r.rnd.IntN(2) == 0
		if restart {
			kind = "put-restart-gc"
		}
		r.beforeCommit = func() error {
			if restart {
				r.cl.RestartMeta()
			}
			r.cl.Clock.Add(wait)
			r.cl.Beat()
			_, gcErr = r.cl.Meta().GC(ctx)
			return gcErr
		}
	}
	v, err := r.c.Put(ctx, key, bytes.NewReader(data))
	r.beforeCommit = nil
	if gcErr != nil {
		r.fatalf("gc during a put of %s: %v", key, gcErr)
	}
	if err != nil {
		// The faults leave at least R servers running, so the store can
		// take every write: a failed put is a broken promise, not bad luck.
		// (A suite that let puts fail would pass with a store that refuses
		// every commit: nothing committed, nothing to check.)
		r.fatalf("%s of %s (%d bytes) failed: %v", kind, key, len(data), err)
	}
	// W = R: the suite's metadata server keeps the default quorum. A
	// copy that was there before the put counts if it has the right
	// size (the commit's HEAD checks no more), so a copy the run damaged
	// counts too.
	if n := r.copies(v.Hash, int64(len(data))); n < r.cfg.Replicas {
		r.fatalf("%s of %s committed with %d recorded copies on running servers, want at least W=%d", kind, key, n, r.cfg.Replicas)
	}
	r.keys[key] = append(r.keys[key], version{number: v.Number, data: data})
	return kind
}

// copies counts the running data servers that the metadata server
// records as holding h and that hold a copy of h of the given size.
func (r *run) copies(h blob.Hash, size int64) int {
	ids, err := r.cl.Namespace().Replicas(h)
	if err != nil {
		r.fatalf("replicas of %s: %v", h.Short(), err)
	}
	n := 0
	for _, id := range ids {
		d := r.cl.ByID(id)
		if d == nil || d.Down {
			continue
		}
		if fi, err := os.Stat(d.BlobPath(h)); err == nil && fi.Size() == size {
			n++
		}
	}
	return n
}

// streamed makes sure each run reads a streamed blob from a damaged
// copy, which the random steps seldom do: one put in 25 is over one
// chunk (the four seeds go test runs have none), and a flipped byte
// lands in such a blob's copy, and in the copy a reader tries first,
// more seldom still. It puts a blob over one chunk under a key of its
// own, flips a byte in the copy the client will read first, and reads
// it: the client must check each chunk before handing it out and read
// the damaged one from another copy. Recovery then must bring the blob
// back to R intact copies, as any other.
func (r *run) streamed() {
	const key = "streamed"
	data := make([]byte, blob.ChunkSize+1+r.rnd.IntN(64<<10))
	for i := range data {
		data[i] = byte(r.rnd.UintN(256))
	}
	v, err := r.c.Put(ctx, key, bytes.NewReader(data))
	if err != nil {
		r.fatalf("put of %s (%d bytes) failed: %v", key, len(data), err)
	}
	r.keys[key] = append(r.keys[key], version{number: v.Number, data: data})
	if v, err = r.c.Stat(ctx, key, v.Number); err != nil {
		r.fatalf("stat %s: %v", key, err)
	}
	var d *storetest.DataNode
	for _, addr := range v.Replicas { // in the order the client tries them
		if n := r.cl.Node(addr); !n.Down {
			d = n
			break
		}
	}
	if d == nil {
		r.fatalf("%s was committed with no copy on a running server", key)
	}
	d.Corrupt(r.t, v.Hash)
	if r.damaged[d.Store.ID()] == nil {
		r.damaged[d.Store.ID()] = map[blob.Hash]bool{}
	}
	r.damaged[d.Store.ID()][v.Hash] = true
	r.log = append(r.log, fmt.Sprintf("%s: a %d-byte blob, a byte flipped on %s", key, len(data), d.Store.ID()))
	switch got, err := r.read(key, 0); {
	case err != nil:
		r.fatalf("%s cannot be read with a byte flipped in the copy on %s: %v", key, d.Store.ID(), err)
	case !bytes.Equal(got, data):
		r.fatalf("%s reads %d bytes that differ from the %d committed, with a byte flipped in the copy on %s", key, len(got), len(data), d.Store.ID())
	}
}

func (r *run) anyData() []byte {
	for _, k := range slices.Sorted(mapsKeys(r.keys)) {
		vs := r.keys[k]
		if len(vs) > 0 && !vs[len(vs)-1].deleted && r.rnd.IntN(2) == 0 {
			return vs[len(vs)-1].data
		}
	}
	return nil
}

func (r *run) delete() string {
	key := r.key()
	vs := r.keys[key]
	v, err := r.c.Delete(ctx, key)
	if len(vs) == 0 || vs[len(vs)-1].deleted {
		if !errors.Is(err, meta.ErrNotFound) {
			r.fatalf("deleting %s, which has no data version: got %v, want not found", key, err)
		}
		return "delete-nothing"
	}
	if err != nil {
		r.fatalf("delete %s: %v", key, err)
	}
	r.keys[key] = append(vs, version{number: v.Number, deleted: true})
	return "delete"
}

// holders returns, for every blob the metadata server records, the
// running data servers holding an intact, recorded copy.
func (r *run) holders() map[blob.Hash][]*storetest.DataNode {
	records, err := r.cl.Namespace().Blobs()
	if err != nil {
		r.fatalf("blobs: %v", err)
	}
	good := map[blob.Hash][]*storetest.DataNode{}
	for h, ids := range records {
		good[h] = nil
		for _, id := range ids {
			if d := r.cl.ByID(id); d != nil && !d.Down && d.Intact(h) {
				good[h] = append(good[h], d)
			}
		}
	}
	return good
}

// safe reports whether losing the copies lost(d, h) says are lost
// leaves every recorded blob with an intact, recorded copy.
func (r *run) safe(lost func(d *storetest.DataNode, h blob.Hash) bool) bool {
	for h, ds := range r.holders() {
		left := 0
		for _, d := range ds {
			if !lost(d, h) {
				left++
			}
		}
		if left == 0 && len(ds) > 0 {
			return false
		}
	}
	return true
}

func (r *run) up() []int {
	var up []int
	for i, d := range r.cl.Data {
		if !d.Down {
			up = append(up, i)
		}
	}
	return up
}

func (r *run) kill() string {
	up := r.up()
	if len(up) <= r.cfg.Replicas { // keep enough servers for writes
		return "kill-skipped"
	}
	i := up[r.rnd.IntN(len(up))]
	victim := r.cl.Data[i]
	if !r.safe(func(d *storetest.DataNode, _ blob.Hash) bool { return d == victim }) {
		return "kill-skipped"
	}
	r.cl.Kill(i)
	return "kill"
}

func (r *run) restart() string {
	var down []int
	for i, d := range r.cl.Data {
		if d.Down {
			down = append(down, i)
		}
	}
	if len(down) == 0 {
		return "restart-skipped"
	}
	r.cl.Restart(down[r.rnd.IntN(len(down))])
	return "restart"
}

func (r *run) corrupt() string {
	up := r.up()
	d := r.cl.Data[up[r.rnd.IntN(len(up))]]
	var hs []blob.Hash
	d.Store.Walk(func(h blob.Hash, _ int64) error { hs = append(hs, h); return nil })
	if len(hs) == 0 {
		return "corrupt-skipped"
	}
	slices.Sort(hs)
	h := hs[r.rnd.IntN(len(hs))]
	if !d.Intact(h) || !r.safe(func(x *storetest.DataNode, y blob.Hash) bool { return x == d && y == h }) {
		return "corrupt-skipped"
	}
	d.Corrupt(r.t, h)
	if r.damaged[d.Store.ID()] == nil {
		r.damaged[d.Store.ID()] = map[blob.Hash]bool{}
	}
	r.damaged[d.Store.ID()][h] = true
	return "corrupt"
}

func (r *run) scrub() string {
	up := r.up()
	d := r.cl.Data[up[r.rnd.IntN(len(up))]]
	if _, err := d.Server.Scrub(ctx); err != nil {
		r.fatalf("scrub: %v", err)
	}
	return "scrub"
}

// check reads every version the model knows and holds the store to its
// promises.
func (r *run) check(when string) {
	// Bad-copy reports are checked after the metadata server answers
	// them: let the checks of the step's (and of the reads below) finish,
	// so that each step starts from the same state on every run.
	r.cl.Meta().WaitReports()
	defer r.cl.Meta().WaitReports()
	r.checkDisks(when)
	for _, key := range slices.Sorted(mapsKeys(r.keys)) {
		vs := r.keys[key]
		if len(vs) == 0 {
			continue
		}
		newest := vs[len(vs)-1]
		got, err := r.read(key, 0)
		switch {
		case newest.deleted && !errors.Is(err, meta.ErrNotFound):
			r.fatalf("%s: %s was deleted (version %d) but reads as %d bytes, err %v", when, key, newest.number, len(got), err)
		case !newest.deleted && err != nil:
			r.fatalf("%s: %s version %d (latest) cannot be read: %v", when, key, newest.number, err)
		case !newest.deleted && !bytes.Equal(got, newest.data):
			r.fatalf("%s: %s latest reads %d bytes that differ from the %d committed", when, key, len(got), len(newest.data))
		}
		kept := 0
		for i := len(vs) - 1; i >= 0; i-- {
			v := vs[i]
			if v.deleted {
				continue
			}
			mustExist := kept < r.cfg.Keep
			kept++
			got, err := r.read(key, v.number)
			switch {
			case err == nil && bytes.Equal(got, v.data) && r.pruned[key][v.number]:
				r.fatalf("%s: %s version %d was gone and came back", when, key, v.number)
			case err == nil && bytes.Equal(got, v.data):
			case errors.Is(err, meta.ErrNotFound) && !mustExist:
				if r.pruned[key] == nil {
					r.pruned[key] = map[uint64]bool{}
				}
				r.pruned[key][v.number] = true
			case err != nil:
				r.fatalf("%s: %s version %d cannot be read: %v", when, key, v.number, err)
			default:
				r.fatalf("%s: %s version %d reads %d bytes that differ from the %d committed", when, key, v.number, len(got), len(v.data))
			}
		}
	}
}

// checkDisks holds every running data server to the rule that only the
// run damages copies: a damaged copy on a disk must be one corrupt made
// on that server. Reads verify, so a damaged copy the store made (a
// repair that copies from a damaged copy and does not check what it
// stores) would otherwise go unseen: a reader would report it and read
// another copy, and a later scrub would set it aside. A copy the run
// damaged that is gone or intact again (set aside, replaced) is
// forgotten, so that a damaged copy made later in its place is caught.
func (r *run) checkDisks(when string) {
	for _, d := range r.cl.Data {
		if d.Down {
			continue // its store is closed; checked once it is back
		}
		id := d.Store.ID()
		for h := range r.damaged[id] {
			if d.Intact(h) {
				delete(r.damaged[id], h)
			} else if _, err := os.Stat(d.BlobPath(h)); err != nil {
				delete(r.damaged[id], h)
			}
		}
		var made []string
		d.Store.Walk(func(h blob.Hash, _ int64) error {
			if !r.damaged[id][h] && !d.Intact(h) {
				made = append(made, h.Short())
			}
			return nil
		})
		if len(made) > 0 {
			slices.Sort(made)
			r.fatalf("%s: %s holds damaged copies the run did not damage: %s", when, id, strings.Join(made, ", "))
		}
	}
}

func (r *run) read(key string, number uint64) ([]byte, error) {
	r.res.Reads++
	o, err := r.c.Get(ctx, key, number)
	if err != nil {
		return nil, err
	}
	defer o.Close()
	return io.ReadAll(o)
}

// recover stops the faults: every killed server comes back, and repair
// rounds (each: a tick, heartbeats, a scrub of every server, RepairRound)
// run until every referenced blob has exactly R intact, recorded copies
// on running servers. Then garbage collection, past its grace period,
// must leave only referenced blobs on the data servers.
func (r *run) recover() {
	for i, d := range r.cl.Data {
		if d.Down {
			r.cl.Restart(i)
		}
	}
	for round := 1; ; round++ {
		r.cl.Clock.Add(10 * time.Second)
		r.cl.Beat()
		for _, d := range r.cl.Data {
			if _, err := d.Server.Scrub(ctx); err != nil {
				r.fatalf("recovery scrub: %v", err)
			}
		}
		r.cl.Meta().WaitReports()
		if _, err := r.cl.Meta().RepairRound(ctx); err != nil {
			r.fatalf("recovery repair: %v", err)
		}
		short := r.shortOfR()
		if len(short) == 0 {
			r.res.Rounds = round
			break
		}
		if round == r.cfg.MaxRounds {
			r.fatalf("after %d repair rounds, blobs not at R=%d intact copies: %s", round, r.cfg.Replicas, strings.Join(short, "; "))
		}
	}
	r.check("after recovery")
	for range 2 { // the first marks garbage, the second, past the grace period, deletes it
		r.cl.Clock.Add(2 * time.Hour)
		r.cl.Beat()
		if _, err := r.cl.Meta().GC(ctx); err != nil {
			r.fatalf("gc: %v", err)
		}
	}
	refs, err := r.cl.Namespace().Referenced()
	if err != nil {
		r.fatalf("referenced: %v", err)
	}
	for _, d := range r.cl.Data {
		d.Store.Walk(func(h blob.Hash, _ int64) error {
			if _, ok := refs[h]; !ok {
				r.fatalf("after GC, %s still holds unreferenced blob %s", d.Store.ID(), h.Short())
			}
			return nil
		})
	}
	if short := r.shortOfR(); len(short) > 0 {
		r.fatalf("after GC, blobs not at R copies: %s", strings.Join(short, "; "))
	}
	r.check("after GC")
}

// shortOfR describes every referenced blob that is not on exactly R
// running servers with intact, recorded copies.
func (r *run) shortOfR() []string {
	refs, err := r.cl.Namespace().Referenced()
	if err != nil {
		r.fatalf("referenced: %v", err)
	}
	good := r.holders()
	var short []string
	for _, h := range slices.Sorted(mapsKeys(refs)) {
		records, _ := r.cl.Namespace().Replicas(h)
		if n := len(good[h]); n != r.cfg.Replicas || len(records) != r.cfg.Replicas {
			short = append(short, fmt.Sprintf("%s: %d intact, %d recorded", h.Short(), n, len(records)))
		}
	}
	return short
}

func mapsKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
