package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/transcript"
	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// manualClock is a clock the test drives: its time moves on Add only,
// and its tickers tick on fire only. A test tells the program's loops
// apart by the periods their flags give them.
type manualClock struct {
	mu      sync.Mutex
	now     time.Time
	tickers map[time.Duration][]*manualTicker // in the order they were started
}

type manualTicker struct {
	c       chan time.Time
	stopped atomic.Bool
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Now(), tickers: map[time.Duration][]*manualTicker{}}
}

func (c *manualClock) clock() clock { return clock{now: c.Now, ticker: c.newTicker} }

func (c *manualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *manualClock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

func (c *manualClock) newTicker(d time.Duration) (<-chan time.Time, func()) {
	tk := &manualTicker{c: make(chan time.Time)} // unbuffered: a send is taken by a running loop
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tickers[d] = append(c.tickers[d], tk)
	return tk.c, func() { tk.stopped.Store(true) }
}

func (c *manualClock) started(d time.Duration) []*manualTicker {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.tickers[d])
}

// assertStopped checks that every ticker started was stopped.
func (c *manualClock) assertStopped(t *testing.T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for d, ts := range c.tickers {
		for i, tk := range ts {
			assert.True(t, tk.stopped.Load(), "ticker %d every %v not stopped", i, d)
		}
	}
}

// fire ticks the i-th ticker started with period d. The send returns
// once the loop takes the tick, which it does only when it has finished
// the work of the tick before.
func (c *manualClock) fire(t *testing.T, what string, d time.Duration, i int) {
	t.Helper()
	ts := c.started(d)
	if i >= len(ts) {
		t.Fatalf("%s: %d tickers every %v, want at least %d", what, len(ts), d, i+1)
	}
	select {
	case ts[i].c <- c.Now():
	case <-time.After(transcript.Timeout): // a bound on a hang, not a timing
		t.Fatalf("%s: nothing takes the ticks of ticker %d every %v: its loop does not run", what, i, d)
	}
}

// waitUntil waits for cond, which runs in another goroutine (no require
// in it), with transcript.Timeout as the bound on a hang.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, transcript.Timeout, 5*time.Millisecond, what)
}

// getJSON reads a JSON answer into v; false on any failure.
func getJSON(url string, v any) bool {
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(v) == nil
}

var (
	metaURLOf = regexp.MustCompile(`metadata server on (http://\S+)`)
	dataURLOf = regexp.MustCompile(`data server \d on (http://\S+)`)
)

// The program runs part 2's background loops by itself, each on its
// flag's ticker: every data server beats (-heartbeat) and scrubs and
// sweeps its temporary files (-scrub-every), and the metadata server
// runs repair rounds (-repair-every) and garbage collections
// (-gc-every). The test starts `go run`'s store on tickers it fires by
// hand and a clock it moves, and checks what a user would see: a flipped
// byte found by a scrub and the copy made again by a repair round; data
// servers kept alive past -timeout by their heartbeats; an old version's
// blob deleted by GC after -gc-grace; an abandoned temporary file swept.
func TestProgramRunsTheMaintenanceLoops(t *testing.T) {
	const ( // all different, so that each loop's ticker is known by its period
		heartbeat   = 2 * time.Second
		timeout     = 10 * time.Second
		scrubEvery  = time.Hour
		repairEvery = 30 * time.Second
		gcEvery     = 10 * time.Minute
		gcGrace     = 90 * time.Minute // past the data servers' hour for temporary files too
	)
	clk := newManualClock()
	t.Cleanup(func() { clk.assertStopped(t) }) // after the program stops: cleanups run last first
	dir := t.TempDir()
	out, stop := startStopOn(t, clk.clock(), "-listen", "127.0.0.1:0", "-data", dir, "-keep", "1",
		"-heartbeat", heartbeat.String(), "-timeout", timeout.String(), "-scrub-every", scrubEvery.String(),
		"-repair-every", repairEvery.String(), "-gc-every", gcEvery.String(), "-gc-grace", gcGrace.String())
	t.Cleanup(stop)
	gw, metaURL := gatewayURL.FindStringSubmatch(out)[1], metaURLOf.FindStringSubmatch(out)[1]
	var dataURLs []string
	for _, m := range dataURLOf.FindAllStringSubmatch(out, -1) {
		dataURLs = append(dataURLs, m[1])
	}
	require.Len(t, dataURLs, 3, out)
	for _, c := range []struct {
		what   string
		period time.Duration
		want   int
	}{{"heartbeat", heartbeat, 3}, {"scrub", scrubEvery, 3}, {"repair", repairEvery, 1}, {"gc", gcEvery, 1}} {
		assert.Len(t, clk.started(c.period), c.want, "%s tickers every %v", c.what, c.period)
	}
	blobPath := func(i int, h blob.Hash) string { // data server i's copy of h
		return filepath.Join(dir, fmt.Sprintf("data%d", i+1), "blobs", string(h[:2]), string(h))
	}
	intact := func(h blob.Hash) (holders []int) { // the data servers with a good copy, from their disks
		for i := range dataURLs {
			if b, err := os.ReadFile(blobPath(i, h)); err == nil && blob.Sum(b) == h {
				holders = append(holders, i)
			}
		}
		return holders
	}
	recorded := func(key string) []string { // the data servers the metadata server lists for key
		var v meta.Version
		if !getJSON(metaURL+"/objects?key="+key, &v) {
			return nil
		}
		slices.Sort(v.Replicas)
		return v.Replicas
	}
	status := func() (st meta.StatusReport) { getJSON(metaURL+"/status", &st); return st }
	states := func() (s []meta.State) { // in data server order
		st := status()
		for _, u := range dataURLs {
			i := slices.IndexFunc(st.Servers, func(srv meta.Status) bool { return srv.Addr == u })
			if i < 0 {
				return nil
			}
			s = append(s, st.Servers[i].State)
		}
		return s
	}

	// A scrub tick finds a flipped byte, sets the copy aside and reports
	// it; a repair tick makes R intact copies again.
	content := "a byte of this will flip"
	h := blob.Sum([]byte(content))
	code, body := putGet(t, gw, "rot.txt", content)
	require.Equal(t, http.StatusCreated, code, body)
	holders := intact(h)
	require.Len(t, holders, 2)
	bad, good := holders[0], holders[1]
	b, err := os.ReadFile(blobPath(bad, h))
	require.NoError(t, err)
	b[3] ^= 0x40
	require.NoError(t, os.WriteFile(blobPath(bad, h), b, 0o644))
	for i := range dataURLs {
		clk.fire(t, "scrub", scrubEvery, i)
	}
	waitUntil(t, "the scrub sets the damaged copy aside and reports it", func() bool {
		_, err := os.Stat(filepath.Join(dir, fmt.Sprintf("data%d", bad+1), "quarantine", string(h)+".1"))
		return err == nil && slices.Equal(recorded("rot.txt"), []string{dataURLs[good]})
	})
	assert.NoFileExists(t, blobPath(bad, h), "the damaged copy is still in service")
	clk.fire(t, "repair", repairEvery, 0)
	waitUntil(t, "a repair round ends", func() bool { return status().LastRepair != nil })
	rep := status().LastRepair
	assert.Equal(t, meta.RepairReport{Blobs: 1, UnderReplicated: 1, Copied: 1}, *rep)
	assert.Len(t, intact(h), 2, "intact copies on disk after the repair round")
	assert.Len(t, recorded("rot.txt"), 2, "copies recorded after the repair round")

	// Silent past -timeout, a data server would be suspect: heartbeat
	// ticks keep every one alive. (That one which stops beating turns
	// suspect is TestRolesRunTheirLoops's, which can count the beats.)
	clk.Add(timeout + time.Second)
	for i := range dataURLs {
		clk.fire(t, "heartbeat", heartbeat, i)
	}
	waitUntil(t, "every data server alive past -timeout", func() bool {
		return slices.Equal(states(), []meta.State{meta.Alive, meta.Alive, meta.Alive})
	})

	// With -keep 1 a GC tick prunes the older version and marks its blob;
	// one past -gc-grace deletes the blob from every data server. A scrub
	// tick past the temporary files' hour sweeps an abandoned one.
	abandoned := filepath.Join(dir, "data1", "tmp", "put-abandoned")
	require.NoError(t, os.WriteFile(abandoned, []byte("half an upload"), 0o644))
	require.NoError(t, os.Chtimes(abandoned, clk.Now(), clk.Now()))
	oldH, newH := blob.Sum([]byte("old")), blob.Sum([]byte("new"))
	for i, v := range []string{"old", "new"} {
		code, body := putGet(t, gw, "k", v)
		require.Equal(t, []int{http.StatusCreated, http.StatusOK}[i], code, body) // the second replaces the first
	}
	clk.fire(t, "gc", gcEvery, 0)
	waitUntil(t, "a GC ends", func() bool { return status().LastGC != nil })
	assert.Equal(t, meta.GCReport{Pruned: 1, Garbage: 1}, *status().LastGC)
	assert.Len(t, intact(oldH), 2, "the old version's blob is deleted within -gc-grace")

	clk.Add(gcGrace)
	for i := range dataURLs { // silent for -gc-grace, all are dead: beat again, or GC deletes from nobody
		clk.fire(t, "heartbeat", heartbeat, i)
	}
	waitUntil(t, "every data server alive", func() bool {
		return slices.Equal(states(), []meta.State{meta.Alive, meta.Alive, meta.Alive})
	})
	clk.fire(t, "gc", gcEvery, 0)
	waitUntil(t, "a GC deletes the old blob", func() bool { gc := status().LastGC; return gc != nil && gc.Deleted > 0 })
	assert.Equal(t, meta.GCReport{Garbage: 1, Deleted: 1, Copies: 2}, *status().LastGC)
	assert.Empty(t, intact(oldH), "copies of the old version's blob left")
	assert.Len(t, intact(newH), 2, "the current version's blob")
	code, body = putGet(t, gw, "k", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "new", body)

	for i := range dataURLs {
		clk.fire(t, "scrub", scrubEvery, i)
	}
	waitUntil(t, "the abandoned temporary file is swept", func() bool {
		_, err := os.Stat(abandoned)
		return os.IsNotExist(err)
	})
}

// -role meta and -role data run their own loops: the metadata server its
// repair rounds and GCs, a data server its heartbeats and its scrubs and
// temp sweeps, each on the clock it is given.
func TestRolesRunTheirLoops(t *testing.T) {
	const heartbeat, timeout, scrubEvery, repairEvery, gcEvery = 2 * time.Second, 10 * time.Second, time.Hour, 30 * time.Second, 10 * time.Minute
	// Each role is given its own periods; the other role's are their
	// defaults, the same figures, so a loop a role should not run would
	// show up at its period.
	metaPeriods := []string{"-timeout", timeout.String(), "-repair-every", repairEvery.String(), "-gc-every", gcEvery.String()}
	dataPeriods := []string{"-heartbeat", heartbeat.String(), "-scrub-every", scrubEvery.String()}
	for _, p := range []struct {
		flag string
		d    time.Duration
	}{{"heartbeat", heartbeat}, {"timeout", timeout}, {"scrub-every", scrubEvery}, {"repair-every", repairEvery}, {"gc-every", gcEvery}} {
		require.Equal(t, p.d.String(), newFlagSet(&options{}).Lookup(p.flag).DefValue, "-%s's default", p.flag)
	}

	metaClock := newManualClock()
	t.Cleanup(func() { metaClock.assertStopped(t) })
	out, stop := startStopOn(t, metaClock.clock(), append([]string{"-role", "meta", "-listen", "127.0.0.1:0", "-data", t.TempDir()}, metaPeriods...)...)
	t.Cleanup(stop)
	metaURL := metaURLOf.FindStringSubmatch(out)[1]
	status := func() (st meta.StatusReport) { getJSON(metaURL+"/status", &st); return st }
	assert.Empty(t, metaClock.started(heartbeat), "the metadata server beats")
	assert.Empty(t, metaClock.started(scrubEvery), "the metadata server scrubs")
	metaClock.fire(t, "repair", repairEvery, 0)
	waitUntil(t, "a repair round ends", func() bool { return status().LastRepair != nil })
	metaClock.fire(t, "gc", gcEvery, 0)
	waitUntil(t, "a GC ends", func() bool { return status().LastGC != nil })

	// The data server talks to the metadata server through a proxy that
	// counts the heartbeats it has passed on and seen answered.
	var beats atomic.Int32
	target, err := url.Parse(metaURL)
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(target)
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rp.ServeHTTP(w, r)
		if r.URL.Path == "/heartbeat" {
			beats.Add(1)
		}
	}))
	t.Cleanup(counting.Close)
	dataClock := newManualClock()
	t.Cleanup(func() { dataClock.assertStopped(t) })
	dir := t.TempDir()
	_, stop = startStopOn(t, dataClock.clock(), append([]string{"-role", "data", "-listen", "127.0.0.1:0", "-data", dir, "-meta", counting.URL}, dataPeriods...)...)
	t.Cleanup(stop)
	assert.Empty(t, dataClock.started(repairEvery), "a data server runs repair rounds")
	assert.Empty(t, dataClock.started(gcEvery), "a data server collects garbage")
	state := func() meta.State {
		if st := status(); len(st.Servers) == 1 {
			return st.Servers[0].State
		}
		return ""
	}
	// Three beats: the program's first, Run's first, and the tick's. The
	// loop takes a tick only once its beat before is done, so once the
	// third is answered no beat is on its way to land after the clock
	// moves.
	dataClock.fire(t, "heartbeat", heartbeat, 0)
	waitUntil(t, "the tick's heartbeat", func() bool { return beats.Load() == 3 })
	require.Equal(t, meta.Alive, state())
	metaClock.Add(timeout + time.Second)
	require.Equal(t, meta.Suspect, state(), "silent past -timeout")
	dataClock.fire(t, "heartbeat", heartbeat, 0)
	waitUntil(t, "the data server alive again", func() bool { return state() == meta.Alive })

	abandoned := filepath.Join(dir, "tmp", "put-abandoned")
	require.NoError(t, os.WriteFile(abandoned, []byte("half an upload"), 0o644))
	require.NoError(t, os.Chtimes(abandoned, dataClock.Now(), dataClock.Now()))
	dataClock.Add(2 * time.Hour) // past the hour an abandoned temporary file is kept
	dataClock.fire(t, "scrub", scrubEvery, 0)
	waitUntil(t, "the abandoned temporary file is swept", func() bool {
		_, err := os.Stat(abandoned)
		return os.IsNotExist(err)
	})
}
