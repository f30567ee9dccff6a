package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/transcript"
	"github.com/gocourse/gateway/06-middleware/leaktest"
)

// The program, run in-process, used and reloaded and then stopped, leaves
// nothing behind once Run has returned: no goroutine in the course's code
// (health-check loops, old and new, the access log's flusher, the SIGHUP
// loop, the servers and the admin listener), no connection to a backend,
// and no file or connection more open than before it started.
func TestAStoppedRunLeavesNothingRunning(t *testing.T) {
	keepRuntime(t)
	// A file or connection left open and dropped is closed by its
	// finalizer, at a garbage collection: with none during the test
	// (GOGC=off keeps Run's runtime section from turning it back on),
	// it is counted, as it is in a program that runs on.
	t.Setenv("GOGC", "off")
	debug.SetGCPercent(-1) // keepRuntime puts it back
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	open := countOpen(t, backend)
	logOutput = io.Discard
	t.Cleanup(func() { logOutput = os.Stderr })
	text := `
admin: {token: t}
log: {buffer_bytes: 4096, flush_interval: 1h}
pools:
  p: {health: {path: /health, interval: 1h}, targets: ["` + backend.URL + `"]}
routes:
  - pool: p
    middleware: [access-log, {name: rate-limit, rate: 1000, burst: 1000}, breaker, cache]
`
	file := filepath.Join(t.TempDir(), "gateway.yaml")
	require.NoError(t, os.WriteFile(file, []byte(text), 0o644))
	before := leaktest.OpenFiles()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := transcript.NewLineWriter(100)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"-config", file, "-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0"}, out)
	}()
	gw := strings.Fields(strings.TrimPrefix(receive(t, out.Lines, "the gateway's address"), "gateway listening on "))[0]
	admin := strings.TrimPrefix(receive(t, out.Lines, "the admin address"), "admin listening on ")

	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	code, _ := do(t, c, http.MethodGet, gw+"/", nil, "")
	assert.Equal(t, http.StatusOK, code)
	// Pool p changes: the reload replaces it, and stops the old one's checks.
	require.NoError(t, os.WriteFile(file, []byte(strings.Replace(text, "/health, interval: 1h", "/health, interval: 2h", 1)), 0o644))
	code, body := do(t, c, http.MethodPost, admin+"/admin/reload", http.Header{"Authorization": {"Bearer t"}}, "")
	require.Equal(t, http.StatusOK, code, body)
	code, _ = do(t, c, http.MethodGet, gw+"/", nil, "")
	assert.Equal(t, http.StatusOK, code)
	code, _ = do(t, c, http.MethodGet, admin+"/admin/health", nil, "")
	assert.Equal(t, http.StatusOK, code)
	c.CloseIdleConnections()

	running := leaktest.Goroutines(new([]byte))
	assert.NotEmpty(t, running, "the check sees no goroutine of the program while it runs")
	cancel()
	require.NoError(t, receive(t, done, "Run to return"))

	assert.Empty(t, leaktest.RemainingGoroutines(), "goroutines of the course's code left running")
	leaktest.WaitFor(func() bool { return open.Load() == 0 })
	assert.Zero(t, open.Load(), "connections to the backend left open")
	if before >= 0 {
		var now int
		leaktest.WaitFor(func() bool { now = leaktest.OpenFiles(); return now <= before })
		assert.LessOrEqual(t, now, before, "files and connections open before Run started, and now")
	}
}
