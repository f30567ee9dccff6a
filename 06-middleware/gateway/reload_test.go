package gateway

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/deadaddr"
	"github.com/gocourse/gateway/06-middleware/config"
)

func TestReloadUnderLoadFailsNoRequest(t *testing.T) {
	srvs := backends(t, 3)
	v1 := fill(`
pools:
  p: {balancer: roundrobin, targets: ["${A}", "${B}"]}
routes: [{path: /, pool: p, middleware: [request-id]}]
`, srvs)
	v2 := fill(`
pools:
  p: {balancer: swrr, targets: [{url: "${B}", weight: 2}, "${C}"]}
  q: {targets: ["${A}"]}
routes:
  - {path: /, pool: p, middleware: [recover, request-id]}
  - {path: /q, pool: q}
`, srvs)
	g, gw, src := start(t, v1)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	defer client.CloseIdleConnections()
	var stop atomic.Bool
	defer stop.Store(true) // should the test fail half way
	var sent, failed atomic.Int32
	progress := make(chan struct{}, 1)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				resp, err := client.Get(gw.URL + "/")
				sent.Add(1)
				select {
				case progress <- struct{}{}:
				default:
				}
				if err != nil {
					failed.Add(1)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
				}
			}
		})
	}
	for i := range 20 {
		src.set([]string{v2, v1}[i%2])
		require.NoError(t, g.Reload())
		for range 5 { // let requests through on this configuration
			receive(t, progress, "requests on the new configuration")
		}
	}
	stop.Store(true)
	wg.Wait()
	assert.Zero(t, failed.Load(), "of %d requests sent during 20 reloads", sent.Load())
	assert.Equal(t, "roundrobin", g.Config().Pools["p"].Balancer, "the last configuration loaded is v1")
}

func TestReloadKeepsUnchangedPoolsAndWhatChecksKnow(t *testing.T) {
	a, failing := flaky(t, "A")
	srvs := backends(t, 3)
	r := strings.NewReplacer("${A}", a.URL, "${B}", srvs[1].URL, "${C}", srvs[2].URL)
	v1 := r.Replace(`
pools:
  p: {health: {path: /health, fall: 1}, targets: ["${A}", "${B}"]}
  q: {health: {path: /health}, targets: ["${C}"]}
routes: [{path: /, pool: p}, {path: /q, pool: q}]
`)
	v2 := r.Replace(`
pools:
  p: {health: {path: /health, fall: 1}, targets: ["${A}", "${B}", "${C}"]}
  q: {health: {path: /health}, targets: ["${C}"]}
routes: [{path: /, pool: p}, {path: /q, pool: q}]
`)
	g, gw, src := start(t, v1)
	failing.Store(true)
	g.CheckNow(context.Background())
	require.False(t, g.cur.Load().pools["p"].checker.Up(a.URL))
	oldP, oldQ := g.cur.Load().pools["p"], g.cur.Load().pools["q"]

	src.set(v2)
	require.NoError(t, g.Reload())
	s := g.cur.Load()
	assert.Same(t, oldQ, s.pools["q"], "an unchanged pool is kept as it is: balancer, connections, checks")
	assert.NotSame(t, oldP, s.pools["p"], "a changed pool is new")
	assert.False(t, s.pools["p"].checker.Up(a.URL), "A was down before the reload and stays down")
	assert.Equal(t, map[string]int{"B": 2, "C": 2}, served(t, gw.URL, 4), "so the new pool sends nothing to A")
}

func TestInvalidReloadIsRejectedAndTheOldConfigServes(t *testing.T) {
	srvs := backends(t, 2)
	good := fill(`
admin: {token: s3cret}
pools:
  p: {targets: ["${A}"]}
routes: [{path: /, pool: p}]
`, srvs)
	g, gw, src := start(t, good)
	before := g.Config()

	src.set(fill(`
admin: {token: s3cret}
pools:
  p: {targets: ["${B}"], balancer: fastest}
routes: [{path: /, pool: nope}]
`, srvs))
	err := g.Reload()
	var errs config.Errors
	require.ErrorAs(t, err, &errs)
	assert.Len(t, errs, 2, "every error is reported: %v", err)
	assert.Same(t, before, g.Config(), "the configuration in use stays")
	r := send(t, http.DefaultClient, "GET", gw.URL+"/", nil, "")
	assert.Equal(t, "A", r.backend, "and keeps serving")

	admin := httptest.NewServer(g.Admin())
	defer admin.Close()
	reload := func(token string) (int, string) {
		h := http.Header{}
		if token != "" {
			h.Set("Authorization", "Bearer "+token)
		}
		return do(t, http.DefaultClient, "POST", admin.URL+"/admin/reload", h, "")
	}
	code, _ := reload("")
	assert.Equal(t, http.StatusUnauthorized, code)
	for _, wrong := range []string{"guess", "s3cre", "s3cret2", "S3CRET"} { // compared as digests: still exact
		code, _ = reload(wrong)
		assert.Equal(t, http.StatusUnauthorized, code, wrong)
	}
	code, body := reload("s3cret")
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Contains(t, body, `test.yaml:4: pools.p.balancer: unknown balancer "fastest"`)
	assert.Same(t, before, g.Config())

	src.set(strings.Replace(good, srvs[0].URL, srvs[1].URL, 1))
	code, body = reload("s3cret")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "reloaded\n", body)
	r = send(t, http.DefaultClient, "GET", gw.URL+"/", nil, "")
	assert.Equal(t, "B", r.backend, "the new configuration serves")

	src.set(strings.Replace(good, "admin: {token: s3cret}", "", 1))
	require.NoError(t, g.Reload())
	code, body = reload("s3cret")
	assert.Equal(t, http.StatusForbidden, code, "with no token configured, reload over HTTP is off")
	assert.Contains(t, body, "SIGHUP")
}

// A reload over HTTP that changes a section read at start only succeeds,
// and its answer says, as the log does, what waits for a restart: its
// caller would otherwise believe the change applied.
func TestAdminReloadSaysWhatWaitsForARestart(t *testing.T) {
	srvs := backends(t, 1)
	text := fill("admin: {token: s3cret}\nlisten: {send_timeout: 1m}\nlog: {buffer_bytes: 4096}\npools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p}]\n", srvs)
	g, _, src := start(t, text)
	admin := httptest.NewServer(g.Admin())
	defer admin.Close()
	reload := func() string {
		t.Helper()
		code, body := do(t, http.DefaultClient, "POST", admin.URL+"/admin/reload", http.Header{"Authorization": {"Bearer s3cret"}}, "")
		require.Equal(t, http.StatusOK, code, body)
		return body
	}
	assert.Equal(t, "reloaded\n", reload(), "nothing changed")
	src.set(strings.Replace(strings.Replace(text, "1m", "2m", 1), "4096", "8192", 1))
	assert.Equal(t, "reloaded\n"+
		"reload: listen and admin addresses and limits change only on restart\n"+
		"reload: the log section changes only on restart\n", reload())
}

// admin.addr is the admin listener's, bound at start like the listen
// section: a reload that changes it says so, every time, until the file
// has the start's address again. The admin token is not: it is read at
// each request, so a reload that changes only the token applies it, the
// new token works at once, the old one no longer does, and nothing is
// said of a restart.
func TestAReloadThatChangesTheAdminAddressSaysRestart(t *testing.T) {
	reloadSaysRestart(t, "admin: {addr: 127.0.0.1:9090, token: s3cret}", "9090", "9091", "reload: listen and admin addresses and limits change only on restart")

	srvs := backends(t, 1)
	text := fill("admin: {addr: 127.0.0.1:9090, token: s3cret}\npools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p}]\n", srvs)
	g, _, src := start(t, text)
	admin := httptest.NewServer(g.Admin())
	defer admin.Close()
	reload := func(token string) (int, string) {
		return do(t, http.DefaultClient, "POST", admin.URL+"/admin/reload", http.Header{"Authorization": {"Bearer " + token}}, "")
	}
	src.set(strings.Replace(text, "s3cret", "n3w", 1))
	code, body := reload("s3cret")
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, "reloaded\n", body, "a new token needs no restart")
	code, _ = reload("s3cret")
	assert.Equal(t, http.StatusUnauthorized, code, "the old token, once the reload applied the new one")
	code, body = reload("n3w")
	assert.Equal(t, http.StatusOK, code, body)
}

// The admin endpoint tells a file it could not read (500: the gateway's
// trouble, not a mistake to fix in the file) and a gateway shutting down
// (503) from a configuration with mistakes in it (422).
func TestAdminReloadStatusSaysWhoseFaultItIs(t *testing.T) {
	srvs := backends(t, 1)
	g, _, src := start(t, fill("admin: {token: s3cret}\npools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p}]\n", srvs))
	admin := httptest.NewServer(g.Admin())
	defer admin.Close()
	reload := func() (int, string) {
		return do(t, http.DefaultClient, "POST", admin.URL+"/admin/reload", http.Header{"Authorization": {"Bearer s3cret"}}, "")
	}

	src.fail(fs.ErrPermission)
	code, body := reload()
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Contains(t, body, "cannot read the configuration: permission denied")
	assert.ErrorIs(t, g.Reload(), ErrUnreadable)

	src.fail(nil)
	src.set("pools: {}\n")
	code, _ = reload()
	assert.Equal(t, http.StatusUnprocessableEntity, code, "a file with mistakes in it")

	g.Close()
	code, _ = reload()
	assert.Equal(t, http.StatusServiceUnavailable, code, "a gateway shutting down")
}

// Close waits for a reload in progress and refuses later ones, so that
// no pool a reload starts is left running after it.
func TestReloadAfterCloseIsRefused(t *testing.T) {
	srvs := backends(t, 1)
	g, _, src := start(t, fill("pools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p}]\n", srvs))
	g.Close()
	g.Close() // twice is fine
	src.set(src.text + "# changed\n")
	assert.ErrorIs(t, g.Reload(), ErrClosed)
}

// A Close that comes while a reload is reading its file waits for the
// reload, then stops the pools it started: none is left checking its
// backends after Close.
func TestCloseWaitsForAReloadInProgress(t *testing.T) {
	srvs := backends(t, 1)
	text := fill("pools: {p: {health: {path: /health, interval: 1s}, targets: [\"${A}\"]}}\nroutes: [{pool: p}]\n", srvs)
	src := &fakeSource{text: text}
	var hold atomic.Bool
	entered, release := make(chan struct{}), make(chan struct{})
	read := func() (string, []byte, error) {
		if hold.Load() {
			close(entered)
			<-release
		}
		return src.read()
	}
	var started, stopped atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := New(ctx, read, Options{Logger: discardLogger(), NewTicker: func(time.Duration) (<-chan time.Time, func()) {
		started.Add(1)
		return nil, func() { stopped.Add(1) }
	}})
	require.NoError(t, err)

	src.set(strings.Replace(text, "1s", "2s", 1)) // a changed pool: the reload starts a new one
	hold.Store(true)
	reloaded := make(chan error, 1)
	go func() { reloaded <- g.Reload() }()
	receive(t, entered, "the reload reading its file")
	closed := make(chan struct{})
	go func() { g.Close(); close(closed) }()
	// Let the reload go on once Close has returned (it did not wait) or
	// is waiting for it: its goroutine is blocked on a lock in Close.
	require.Eventually(t, func() bool {
		select {
		case <-closed:
			return true
		default:
		}
		buf := make([]byte, 1<<20)
		for _, stack := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(stack, "gateway.(*Gateway).Close(") && strings.Contains(stack, "Mutex).Lock") {
				return true
			}
		}
		return false
	}, 10*time.Second, time.Millisecond)
	close(release)
	assert.NoError(t, receive(t, reloaded, "the reload"), "the reload began before Close, and completes")
	receive(t, closed, "Close")
	assert.Eventually(t, func() bool { return started.Load() == 2 && stopped.Load() == 2 }, 10*time.Second, time.Millisecond,
		"both pools' loops (the first and the reload's) are stopped")
	assert.ErrorIs(t, g.Reload(), ErrClosed)
}

// A gateway starting with a dead backend sends it nothing: the round of
// checks before the pool serves takes it down at its first failure, as
// HAProxy does by default, though fall is 3.
func TestADeadBackendAtStartGetsNoRequest(t *testing.T) {
	live := backends(t, 1)[0]
	src := &fakeSource{text: strings.NewReplacer("${A}", live.URL, "${D}", deadaddr.URL(t)).Replace(`
pools:
  p: {health: {path: /health, fall: 3}, retry: {tries: 1}, targets: ["${A}", "${D}"]}
routes: [{pool: p}]
`)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := New(ctx, src.read, Options{Logger: discardLogger(), NewTicker: func(time.Duration) (<-chan time.Time, func()) {
		return nil, func() {} // no tick: only the round before serving
	}})
	require.NoError(t, err)
	defer g.Close()
	for i := range 4 {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		assert.Equal(t, http.StatusOK, rec.Code, "request %d", i)
	}
}

// The same holds for a backend a reload adds: the reload's new pool runs
// its round of checks before it is swapped in, so a dead backend new in
// the file is down before any request can be sent to it.
func TestADeadBackendAddedByAReloadGetsNoRequest(t *testing.T) {
	live := backends(t, 1)[0]
	text := strings.NewReplacer("${A}", live.URL, "${D}", deadaddr.URL(t)).Replace(`
pools:
  p: {health: {path: /health, fall: 3}, retry: {tries: 1}, targets: ["${A}"]}
routes: [{pool: p}]
`)
	src := &fakeSource{text: text}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := New(ctx, src.read, Options{Logger: discardLogger(), NewTicker: func(time.Duration) (<-chan time.Time, func()) {
		return nil, func() {} // no tick: only the rounds before serving
	}})
	require.NoError(t, err)
	defer g.Close()
	src.set(strings.Replace(text, `targets: ["`+live.URL+`"]`, `targets: ["`+live.URL+`", "`+deadaddr.URL(t)+`"]`, 1))
	require.NoError(t, g.Reload())
	require.Len(t, g.cur.Load().pools["p"].targets, 2, "the reload added the dead backend")
	for i := range 4 {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		assert.Equal(t, http.StatusOK, rec.Code, "request %d", i)
	}
}

// The health loop checks on each tick of the ticker it is given, and
// stops when its pool is replaced.
func TestHealthLoopFollowsTheTicker(t *testing.T) {
	a, failing := flaky(t, "A")
	ticks := make(chan time.Time)
	var stopped atomic.Int32
	var interval atomic.Int64
	src := &fakeSource{text: strings.ReplaceAll(`
pools:
  p: {health: {path: /health, interval: 7s, fall: 3}, targets: ["${A}"]}
routes: [{pool: p}]
`, "${A}", a.URL)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := New(ctx, src.read, Options{Logger: discardLogger(), NewTicker: func(d time.Duration) (<-chan time.Time, func()) {
		interval.Store(int64(d))
		return ticks, func() { stopped.Add(1) }
	}})
	require.NoError(t, err)
	defer g.Close()
	assert.Equal(t, 7*time.Second, time.Duration(interval.Load()))
	checks := func() int { return g.cur.Load().pools["p"].checker.States()[0].Checks }
	assert.Equal(t, 1, checks(), "a new pool is checked once before it serves")
	assert.True(t, g.cur.Load().pools["p"].checker.Up(a.URL))

	failing.Store(true)
	for range 4 { // a tick is taken once the round before it is over
		select {
		case ticks <- time.Time{}:
		case <-time.After(10 * time.Second):
			t.Fatal("the health loop took no tick within 10s")
		}
	} // so three more rounds are over
	assert.GreaterOrEqual(t, checks(), 4)
	assert.False(t, g.cur.Load().pools["p"].checker.Up(a.URL), "three failures: down")

	src.set(strings.Replace(src.text, "7s", "8s", 1))
	require.NoError(t, g.Reload())
	assert.Eventually(t, func() bool { return stopped.Load() == 1 }, 5*time.Second, time.Millisecond,
		"the replaced pool's ticker is stopped")
}

// A new pool's first round of checks, run before it serves, is over
// before its loop starts: a loop started beside it could take a tick at
// once and check the backend again while the first check still ran,
// counting two checks made at once as two in a row.
func TestTheFirstRoundIsOverBeforeTheLoopStarts(t *testing.T) {
	var ticking atomic.Bool
	seen := make(chan bool, 10)
	a := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { seen <- ticking.Load() }))
	t.Cleanup(a.Close)
	src := &fakeSource{text: strings.ReplaceAll(`
pools:
  p: {health: {path: /health}, targets: ["${A}"]}
routes: [{pool: p}]
`, "${A}", a.URL)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := New(ctx, src.read, Options{Logger: discardLogger(), NewTicker: func(time.Duration) (<-chan time.Time, func()) {
		ticking.Store(true)
		return make(chan time.Time), func() {}
	}})
	require.NoError(t, err)
	defer g.Close()
	assert.False(t, receive(t, seen, "the first check"), "the loop had started when the first check arrived")
	assert.True(t, ticking.Load(), "the loop starts once the round is over")
}

// A reload by SIGHUP has no caller to return its error to: the log is
// where the operator reads why the file was refused, so the rejection and
// every error in it are logged.
func TestARejectedReloadIsLogged(t *testing.T) {
	srvs := backends(t, 1)
	src := &fakeSource{text: fill("pools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p}]\n", srvs)}
	var log lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := New(ctx, src.read, Options{ManualChecks: true, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	require.NoError(t, err)
	defer g.Close()

	src.set("pools: {p: {targets: [\"" + srvs[0].URL + "\"], balancer: fastest}}\nroutes: [{pool: nope}]\n")
	require.Error(t, g.Reload())
	got := log.String()
	assert.Contains(t, got, "level=ERROR")
	assert.Contains(t, got, "reload rejected; the configuration in use stays")
	assert.Contains(t, got, `unknown balancer \"fastest\"`, "the log names each error")
	assert.Contains(t, got, `routes[0].pool: no pool \"nope\"`)
}

// lockedBuffer is a bytes.Buffer a logger may write while a test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }

// An authentication scheme is a case-insensitive token (RFC 9110,
// section 11.1), and one or more spaces may follow it: "bearer TOKEN",
// as some clients and libraries write it, is the same credential as
// "Bearer TOKEN". The token itself is compared exactly.
func TestAdminReloadTakesTheBearerSchemeInAnyCase(t *testing.T) {
	srvs := backends(t, 1)
	g, _, _ := start(t, fill("admin: {token: s3cret}\npools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p}]\n", srvs))
	admin := httptest.NewServer(g.Admin())
	defer admin.Close()
	for _, auth := range []string{"Bearer s3cret", "bearer s3cret", "BEARER s3cret", "Bearer   s3cret"} {
		code, body := do(t, http.DefaultClient, "POST", admin.URL+"/admin/reload", http.Header{"Authorization": {auth}}, "")
		assert.Equal(t, http.StatusOK, code, "%q: %s", auth, body)
	}
	for _, auth := range []string{"Bearer S3CRET", "Bearers3cret", "Basic s3cret", "s3cret"} {
		code, _ := do(t, http.DefaultClient, "POST", admin.URL+"/admin/reload", http.Header{"Authorization": {auth}}, "")
		assert.Equal(t, http.StatusUnauthorized, code, "%q", auth)
	}
}

// The admin token is taken from the Authorization field alone: not from
// the query (RFC 6750, section 2.3's access_token, or any other name),
// which access logs, proxies and shell histories keep, nor from a form.
func TestAdminReloadTakesTheTokenFromTheHeaderOnly(t *testing.T) {
	srvs := backends(t, 1)
	g, _, _ := start(t, fill("admin: {token: s3cret}\npools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p}]\n", srvs))
	admin := httptest.NewServer(g.Admin())
	defer admin.Close()
	for _, query := range []string{"access_token=s3cret", "token=s3cret", "bearer=s3cret"} {
		code, _ := do(t, http.DefaultClient, "POST", admin.URL+"/admin/reload?"+query, nil, "")
		assert.Equal(t, http.StatusUnauthorized, code, "?%s", query)
	}
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	code, _ := do(t, http.DefaultClient, "POST", admin.URL+"/admin/reload", form, "access_token=s3cret")
	assert.Equal(t, http.StatusUnauthorized, code, "in a form")
}

// A reload that changes only weights builds a new pool (a new balancer:
// what passive tracking knew starts again), but what the checks know
// carries over: a backend down stays down whatever its new weight, and
// comes back after its checks with the weight of the new file.
func TestAWeightChangeKeepsWhatChecksKnow(t *testing.T) {
	a, failing := flaky(t, "A")
	srvs := backends(t, 3)
	r := strings.NewReplacer("${A}", a.URL, "${B}", srvs[1].URL, "${C}", srvs[2].URL)
	text := `
pools:
  p:
    balancer: swrr
    health: {path: /health, rise: 1, fall: 1}
    targets: [{url: "${A}", weight: 1}, "${B}", {url: "${C}", weight: 1}]
routes: [{pool: p}]
`
	g, gw, src := start(t, r.Replace(text))
	ctx := context.Background()
	failing.Store(true)
	g.CheckNow(ctx)
	old := g.cur.Load().pools["p"]
	require.False(t, old.checker.Up(a.URL))

	src.set(r.Replace(strings.NewReplacer(`"${A}", weight: 1`, `"${A}", weight: 2`, `"${C}", weight: 1`, `"${C}", weight: 3`).Replace(text)))
	require.NoError(t, g.Reload())
	p := g.cur.Load().pools["p"]
	require.NotSame(t, old, p, "a weight is a setting of the pool: it is rebuilt")
	assert.False(t, p.checker.Up(a.URL), "A was down and stays down")
	assert.Equal(t, map[string]int{"B": 2, "C": 6}, served(t, gw.URL, 8), "nothing to A; C at its new weight")

	failing.Store(false)
	g.CheckNow(ctx)
	require.True(t, p.checker.Up(a.URL))
	assert.Equal(t, map[string]int{"A": 4, "B": 2, "C": 6}, served(t, gw.URL, 12), "A back, at its new weight")
}
