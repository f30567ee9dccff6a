package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/transcript"
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
	before := openFiles()
	clk := newManualClock()
	out, stop := startStopOn(t, clk.clock(), "-listen", "127.0.0.1:0", "-heartbeat", heartbeat.String(),
		"-scrub-every", scrubEvery.String(), "-repair-every", repairEvery.String(), "-gc-every", gcEvery.String())
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
	running := courseGoroutines(&buf)
	assert.NotEmpty(t, running, "the check sees no goroutine of the store while it runs")
	if before >= 0 {
		assert.Greater(t, openFiles(), before, "the check sees no file the store has open")
	}
	stop()

	stacks := waitForNoCourseGoroutine()
	assert.Empty(t, stacks, "goroutines of the course's code left running")
	if before >= 0 {
		var now int
		waitFor(func() bool { now = openFiles(); return now <= before })
		assert.LessOrEqual(t, now, before, "files and connections open before the store started, and now")
	}
}

// waitForNoCourseGoroutine waits, with transcript.Timeout as the bound,
// until no goroutine runs the course's code, and returns the stacks of
// those that still do.
func waitForNoCourseGoroutine() []string {
	var left []string
	buf := make([]byte, 1<<20) // one for every poll: the test runs with no garbage collection
	waitFor(func() bool { left = courseGoroutines(&buf); return len(left) == 0 })
	return left
}

// courseGoroutines returns the stacks of the goroutines running the
// course's code, but for the testing package's (the test's own, and
// those that run package main's tests), reading them into *buf.
func courseGoroutines(buf *[]byte) []string {
	for {
		n := runtime.Stack((*buf)[:cap(*buf)], true)
		if n < cap(*buf) {
			*buf = (*buf)[:n]
			break
		}
		*buf = make([]byte, 2*cap(*buf))
	}
	var ours []string
	for g := range bytes.SplitSeq(*buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("testing.tRunner(")) || bytes.Contains(g, []byte("testing.(*M).")) {
			continue
		}
		if bytes.Contains(g, []byte("github.com/gocourse/gateway/")) || bytes.Contains(g, []byte("\nmain.")) {
			ours = append(ours, string(g))
		}
	}
	return ours
}

// waitFor polls cond until it holds or transcript.Timeout passes: a
// goroutine ends, and a connection closes, a little after what ended it.
func waitFor(cond func() bool) {
	deadline := time.Now().Add(transcript.Timeout)
	for !cond() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
}

// openFiles counts the process's open file descriptors (files, sockets,
// listeners), or returns -1 where the system does not list them. The
// network poller's descriptors are opened first, so that they do not
// count as the store's.
func openFiles() int {
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
	}
	for _, dir := range []string{"/proc/self/fd", "/dev/fd"} {
		if es, err := os.ReadDir(dir); err == nil {
			return len(es)
		}
	}
	return -1
}
