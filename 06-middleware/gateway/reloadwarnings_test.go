package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/onion"
)

// A reload can fail after its file parsed: building the new state calls
// each middleware's constructor, and one may refuse (any build given to
// Register may return an error). The configuration in use stays, so the
// log must not warn about the rejected file, neither that a section of it
// waits for a restart nor of a rate limit keyed by what the client
// writes: it would tell of a configuration that never served. The admin
// endpoint answers the rejection alone. Once the file builds, the same
// warnings are logged, once each, after "reloaded", as the answer lists
// them.
func TestARejectedReloadLogsNoWarningAboutItsFile(t *testing.T) {
	reg := DefaultRegistry()
	Register(reg, "refuse", none{}, func(*none, Env) (onion.Middleware, error) {
		return nil, errors.New("this middleware refuses to be built")
	})
	text := fill("admin: {token: s3cret}\nlog: {buffer_bytes: 4096}\npools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p}]\n", backends(t, 1))
	src := &fakeSource{text: text}
	var log lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := New(ctx, src.read, Options{Registry: reg, ManualChecks: true, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	require.NoError(t, err)
	defer g.Close()
	admin := httptest.NewServer(g.Admin())
	defer admin.Close()
	reload := func() (int, string) {
		return do(t, http.DefaultClient, "POST", admin.URL+"/admin/reload", http.Header{"Authorization": {"Bearer s3cret"}}, "")
	}
	before := g.Config()
	warnings := []string{
		"reload: the log section changes only on restart",
		"rate-limit key header:X-Client is the client's to write", // the route's name is quoted, and the log quotes its quotes
	}

	changed := strings.Replace(text, "4096", "8192", 1)
	changed = strings.Replace(changed, "{pool: p}", `{pool: p, middleware: [{name: rate-limit, rate: 1, burst: 1, key: "header:X-Client"}, MORE]}`, 1)
	src.set(strings.Replace(changed, "MORE", "refuse", 1))
	code, body := reload()
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Equal(t, "reload rejected; the configuration in use stays:\nroute /: middleware refuse: this middleware refuses to be built\n", body)
	assert.Same(t, before, g.Config(), "the configuration in use stays")
	got := log.String()
	assert.Contains(t, got, "reload rejected; the configuration in use stays")
	for _, w := range warnings {
		assert.NotContains(t, got, w, "a warning about a file that was rejected")
	}

	src.set(strings.Replace(changed, "MORE", "request-id", 1))
	code, body = reload()
	require.Equal(t, http.StatusOK, code, body)
	assert.True(t, strings.HasPrefix(body, "reloaded\n"), body)
	got = log.String()
	assert.Contains(t, got, "msg=reloaded")
	for _, w := range warnings {
		assert.Contains(t, body, w, "the answer of the reload that applied")
		assert.Equal(t, 1, strings.Count(got, w), "logged once, by the reload that applied: %s\nlog:\n%s", w, got)
		assert.Less(t, strings.Index(got, "msg=reloaded"), strings.Index(got, w), "after the line that says it applied, as in the answer")
	}
}
