package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/onion"
)

// A reload that changes a pool's health check, or turns its checks off,
// carries nothing of the old checks over (health.Checker.Adopt): a
// backend they had taken out is back in the new pool, and gets requests,
// before any check of the new pool has run. The log's last word on it was
// "backend down", so the swap logs "backend up" with the reason, once: not
// for a reload that is then rejected, nor again for a later reload that
// keeps the pool. A reload that keeps the check keeps the backend out,
// and says nothing.
func TestAReloadThatPutsABackendBackLogsIt(t *testing.T) {
	for _, tc := range []struct{ name, health, reason string }{
		{"another path", "health: {path: /health}, ", `reason="reload: another health check, not yet run"`},
		{"checks off", "", `reason="reload: health checks off"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := DefaultRegistry()
			Register(reg, "refuse", none{}, func(*none, Env) (onion.Middleware, error) {
				return nil, errors.New("this middleware refuses to be built")
			})
			srvs := backends(t, 2)
			pools := func(health, targets string) string {
				return fill("pools: {p: {"+health+"targets: ["+targets+"]}}\n", srvs)
			}
			routes := "routes: [{pool: p}]\n"
			src := &fakeSource{text: pools("health: {path: /wrong}, ", `"${A}"`) + routes}
			var log lockedBuffer
			g, err := New(context.Background(), src.read, Options{Registry: reg, ManualChecks: true, Logger: slog.New(slog.NewTextHandler(&log, nil))})
			require.NoError(t, err)
			defer g.Close()
			gw := httptest.NewServer(g)
			defer gw.Close()
			a := srvs[0].URL
			lines := func() []string {
				var out []string
				for _, l := range strings.Split(log.String(), "\n") {
					if strings.Contains(l, "msg=\"backend ") {
						_, msg, _ := strings.Cut(l, "level=")
						out = append(out, msg)
					}
				}
				return out
			}

			g.CheckNow(context.Background())
			want := []string{`WARN msg="backend down" pool=p backend=` + a + ` reason="status 404, want 200" checks=1`}
			require.Equal(t, want, lines())

			src.set(pools("health: {path: /wrong}, ", `"${A}", "${B}"`) + routes)
			require.NoError(t, g.Reload())
			assert.Equal(t, want, lines(), "the same check: A stays down, nothing to say")
			assert.Equal(t, map[string]int{"B": 2}, served(t, gw.URL, 2))

			src.set(pools(tc.health, `"${A}", "${B}"`) + "routes: [{pool: p, middleware: [refuse]}]\n")
			require.Error(t, g.Reload())
			assert.Equal(t, want, lines(), "a rejected reload puts nothing back")

			src.set(pools(tc.health, `"${A}", "${B}"`) + routes)
			require.NoError(t, g.Reload())
			want = append(want, `INFO msg="backend up" pool=p backend=`+a+` `+tc.reason)
			assert.Equal(t, want, lines())
			assert.Equal(t, map[string]int{"A": 1, "B": 1}, served(t, gw.URL, 2), "what the log says: A is back")

			g.CheckNow(context.Background())
			src.set(src.text + "# the same pool\n")
			require.NoError(t, g.Reload())
			assert.Equal(t, want, lines(), "said once")
		})
	}
}

// A backend the old checks had taken out that the reload also removes
// is not put back: no "backend up" for a backend the pool no longer has.
func TestAReloadThatRemovesADownBackendDoesNotLogItUp(t *testing.T) {
	srvs := backends(t, 2)
	src := &fakeSource{text: fill(`pools: {p: {health: {path: /wrong}, targets: ["${A}", "${B}"]}}`+"\nroutes: [{pool: p}]\n", srvs)}
	var log lockedBuffer
	g, err := New(context.Background(), src.read, Options{ManualChecks: true, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	require.NoError(t, err)
	defer g.Close()
	g.CheckNow(context.Background())
	require.Equal(t, 2, strings.Count(log.String(), `msg="backend down"`))

	src.set(fill(`pools: {p: {health: {path: /health}, targets: ["${B}"]}}`+"\nroutes: [{pool: p}]\n", srvs))
	require.NoError(t, g.Reload())
	assert.Equal(t, 1, strings.Count(log.String(), `msg="backend up"`), log.String())
	assert.NotContains(t, log.String(), `msg="backend up" pool=p backend=`+srvs[0].URL+` `, "A, removed, logged as back")
}
