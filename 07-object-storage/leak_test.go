package main

import (
	"context"
	"io"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/leaktest"
	"github.com/gocourse/gateway/07-object-storage/client"
)

// The whole store `go run ./07-object-storage` starts, used and every
// background loop run once, leaves nothing behind once it has stopped:
// no goroutine in the course's code (a heartbeat, scrub, repair or GC
// loop, a server, the gateway's health checks), and no file or
// connection more open than before it started (a client's idle
// connection to a server, the metadata database, a blob).
func TestAStoppedStoreLeavesNothingRunning(t *testing.T) {
	const heartbeat, scrubEvery, repairEvery, gcEvery = 2 * time.Second, time.Hour, 30 * time.Second, 10 * time.Minute
	// A file or connection left open and dropped is closed by its
	// finalizer, at a garbage collection: with none during the test, it
	// is counted, as it is in a program that runs on.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	before := leaktest.OpenFiles()
	clk := newManualClock()
	out, stop := startStopOn(t, clk.clock(), "-listen", "127.0.0.1:0", "-heartbeat", heartbeat.String(),
		"-scrub-every", scrubEvery.String(), "-repair-every", repairEvery.String(), "-gc-every", gcEvery.String())
	stop = sync.OnceFunc(stop)
	t.Cleanup(stop) // if the test fails before it stops the store
	gw := gatewayURL.FindStringSubmatch(out)[1]

	tr := &http.Transport{}
	c := &http.Client{Transport: tr}
	for _, method := range []string{http.MethodPut, http.MethodGet} {
		req, err := http.NewRequest(method, gw+"/objects/k", strings.NewReader("kept until stop"))
		require.NoError(t, err)
		req.Header.Set("X-Api-Key", "demo-key")
		resp, err := c.Do(req)
		require.NoError(t, err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		assert.Less(t, resp.StatusCode, 300, method)
	}
	tr.CloseIdleConnections()
	for i := range 3 {
		clk.fire(t, "heartbeat", heartbeat, i)
		clk.fire(t, "scrub", scrubEvery, i)
	}
	clk.fire(t, "repair", repairEvery, 0)
	clk.fire(t, "gc", gcEvery, 0)
	buf := make([]byte, 1<<20)
	running := leaktest.Goroutines(&buf)
	assert.NotEmpty(t, running, "the check sees no goroutine of the store while it runs")
	if before >= 0 {
		assert.Greater(t, leaktest.OpenFiles(), before, "the check sees no file the store has open")
	}
	stop()

	stacks := leaktest.RemainingGoroutines()
	assert.Empty(t, stacks, "goroutines of the course's code left running")
	if before >= 0 {
		var now int
		leaktest.WaitFor(func() bool { now = leaktest.OpenFiles(); return now <= before })
		assert.LessOrEqual(t, now, before, "files and connections open before the store started, and now")
	}
}

// A server of the store stopped while the others run on leaves no
// connection to them open: a data server kept its heartbeats' connection
// to the metadata server, and an API server's client its connections to
// the metadata and data servers, until their idle timeout (90 s). Each
// is counted at both ends, as every server runs in this process.
func TestAStoppedRoleLeavesNoConnection(t *testing.T) {
	if leaktest.OpenFiles() < 0 {
		t.Skip("this system does not list the open files")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // see TestAStoppedStoreLeavesNothingRunning
	// Heartbeats every hour, and taken for alive for two: the data
	// servers beat once, at start.
	metaURL := urlOf.FindStringSubmatch(start(t, "-role", "meta", "-listen", "127.0.0.1:0", "-timeout", "2h"))[1]
	for range 2 {
		start(t, "-role", "data", "-listen", "127.0.0.1:0", "-data", t.TempDir(), "-meta", metaURL, "-heartbeat", "1h")
	}
	// The data server is stopped once its loop's first heartbeat is over
	// (its loop waits for the next tick, an hour away): one cut short
	// would close its connection, kept or not.
	stopLeavesNothing(t, func(string) {
		leaktest.WaitFor(func() bool { return len(parkedIn("dataserver.(*Server).Run(")) == 3 })
		require.Len(t, parkedIn("dataserver.(*Server).Run("), 3, "the data servers' loops waiting for their next tick")
	}, "-role", "data", "-listen", "127.0.0.1:0", "-data", t.TempDir(), "-meta", metaURL, "-heartbeat", "1h")

	// An object written first, by a client of the test's: the API server
	// only reads it, and opens no connection of the metadata server's (a
	// write's confirmations). The servers' ends of the client's
	// connections close once it closes its own; they are waited for, so
	// that they do not close during the count.
	var open atomic.Int64
	tr := client.NewTransport()
	tr.DialContext = leaktest.CountingDial(&open)
	w := client.New(client.Options{MetaURL: metaURL, HTTP: &http.Client{Transport: tr}})
	_, err := w.Put(context.Background(), "k", strings.NewReader("read through the API server"))
	require.NoError(t, err)
	files, conns := leaktest.OpenFiles(), int(open.Load())
	w.CloseIdleConnections()
	leaktest.WaitFor(func() bool { return leaktest.OpenFiles() <= files-2*conns })
	stopLeavesNothing(t, func(out string) {
		c := &http.Client{Transport: &http.Transport{}}
		resp, err := c.Get(urlOf.FindStringSubmatch(out)[1] + "/objects/k")
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, "read through the API server", string(b))
		c.CloseIdleConnections()
	}, "-role", "api", "-listen", "127.0.0.1:0", "-meta", metaURL)
}

// stopLeavesNothing runs the program with args, calls use with what it
// printed, stops it, and checks that no more files and connections are
// open than before it started.
func stopLeavesNothing(t *testing.T, use func(out string), args ...string) {
	t.Helper()
	before := leaktest.OpenFiles()
	out, stop := startStop(t, args...)
	stop = sync.OnceFunc(stop)
	t.Cleanup(stop) // if use fails the test
	use(out)
	stop()
	var now int
	leaktest.WaitFor(func() bool { now = leaktest.OpenFiles(); return now <= before })
	assert.LessOrEqual(t, now, before, "files and connections open before %v started, and now", args)
}

// parkedIn returns the stacks of the goroutines in fn that wait in a
// select.
func parkedIn(fn string) []string {
	var parked []string
	buf := make([]byte, 1<<20)
	for _, g := range leaktest.Goroutines(&buf) {
		if strings.Contains(g, fn) && strings.Contains(g, " [select") {
			parked = append(parked, g)
		}
	}
	return parked
}
