package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A rate limit keyed by a header or a cookie keys clients by what they
// write themselves: one that sends a new X-Forwarded-For with each
// request has a new bucket each time. Behind a proxy of your own that
// sets the field it is right, so the file is taken; but the gateway says
// what it means, naming the route, at start, at each reload (in the
// admin's answer too), and -check says it. A limit keyed by ip is not
// warned of.
func TestARateLimitKeyedByWhatTheClientWritesIsWarnedOf(t *testing.T) {
	text := `
admin: {token: s3cret}
pools:
  p: {targets: ["${A}"]}
routes:
  - {path: /xff, strip_prefix: true, pool: p, middleware: [{name: rate-limit, rate: 0.001, burst: 1, key: "header:X-Forwarded-For"}]}
  - {name: session, path: /s, pool: p, middleware: [{name: rate-limit, rate: 0.001, burst: 1, key: "cookie:session"}]}
  - {path: /ip, pool: p, middleware: [{name: rate-limit, rate: 0.001, burst: 1}]}
`
	warnings := []string{
		`route "/xff": rate-limit key header:X-Forwarded-For is the client's to write: a client that sends a new value gets a new bucket; key by it only behind a proxy of your own that sets it (key: ip keys by the connection)`,
		`route "session": rate-limit key cookie:session is the client's to write: a client that sends a new value gets a new bucket; key by it only behind a proxy of your own that sets it (key: ip keys by the connection)`,
	}
	src := &fakeSource{text: fill(text, backends(t, 1))}
	var log lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := New(ctx, src.read, Options{ManualChecks: true, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	require.NoError(t, err, "the file is taken")
	defer g.Close()
	for _, w := range warnings {
		assert.Equal(t, 1, strings.Count(log.String(), "level=WARN msg="+strconv.Quote(w)), "at start: %s\nlog:\n%s", w, log.String())
	}
	assert.NotContains(t, log.String(), `route "/ip"`)

	codes := []int{}
	for _, xff := range []string{"192.0.2.1", "192.0.2.2"} {
		req := httptest.NewRequest("GET", "/xff", nil)
		req.Header.Set("X-Forwarded-For", xff)
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		codes = append(codes, rec.Code)
	}
	assert.Equal(t, []int{200, 200}, codes, "one client, two values, two buckets of 1: what the warning says")

	admin := httptest.NewServer(g.Admin())
	defer admin.Close()
	code, body := do(t, http.DefaultClient, "POST", admin.URL+"/admin/reload", http.Header{"Authorization": {"Bearer s3cret"}}, "")
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, "reloaded\n"+strings.Join(warnings, "\n")+"\n", body, "the reload's answer")
	for _, w := range warnings {
		assert.Equal(t, 2, strings.Count(log.String(), "level=WARN msg="+strconv.Quote(w)), "at start and at the reload: %s", w)
	}

	file := filepath.Join(t.TempDir(), "keys.yaml")
	require.NoError(t, os.WriteFile(file, []byte(strings.Replace(text, "${A}", "${BACKEND_A}", 1)), 0o644))
	var out strings.Builder
	require.NoError(t, Run(context.Background(), []string{"-check", file}, &out))
	assert.Equal(t, file+": ok\n"+file+": warning: "+warnings[0]+"\n"+file+": warning: "+warnings[1]+"\n", out.String(), "-check")
}
