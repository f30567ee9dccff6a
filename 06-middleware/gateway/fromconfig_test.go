package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/deadaddr"
	"github.com/gocourse/gateway/05-balancers/balancer"
)

// A pool's replicas (chash) and table_size (maglev) reach its balancer:
// the gateway sends each path where a balancer built with the file's
// options picks, not where one with the defaults would. The balancer's
// own tests set the options by hand, so a pool that dropped them would
// pass those.
func TestBalancerOptionsFromConfig(t *testing.T) {
	srvs := backends(t, 3)
	ids := []string{srvs[0].URL, srvs[1].URL, srvs[2].URL}
	names := map[string]string{srvs[0].URL: "A", srvs[1].URL: "B", srvs[2].URL: "C"}
	for _, tc := range []struct {
		balancer, option string
		opts             balancer.Options
	}{
		{"chash", "replicas: 1", balancer.Options{Replicas: 1}},
		{"maglev", "table_size: 7", balancer.Options{TableSize: 7}},
	} {
		t.Run(tc.balancer, func(t *testing.T) {
			_, gw, _ := start(t, fill(fmt.Sprintf(`
pools:
  p:
    balancer: %s
    key: path
    %s
    targets: ["${A}", "${B}", "${C}"]
routes: [{pool: p}]
`, tc.balancer, tc.option), srvs))
			picks := func(opts balancer.Options) map[string]string {
				b, err := balancer.New(tc.balancer, opts)
				require.NoError(t, err)
				for _, id := range ids {
					require.NoError(t, b.Add(id, 1))
				}
				m := map[string]string{}
				for i := range 40 {
					path := fmt.Sprintf("/k%d", i)
					id, err := b.Pick(path)
					require.NoError(t, err)
					m[path] = names[id]
				}
				return m
			}
			want := picks(tc.opts)
			require.NotEqual(t, picks(balancer.Options{}), want, "the option must change where some path goes, or this test proves nothing")
			got := map[string]string{}
			for path := range want {
				got[path] = send(t, http.DefaultClient, "GET", gw.URL+path, nil, "").backend
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("backend per path (-balancer with %s +gateway):\n%s", tc.option, diff)
			}
		})
	}
}

// A pool's passive.fail_timeout is how long a backend that failed is
// skipped: 30 s here, so at 11 s (past the 10 s default) it is still
// out, and at 31 s it is tried again.
func TestFailTimeoutFromConfig(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1e9, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	src := &fakeSource{text: `
pools:
  p:
    passive: {max_fails: 1, fail_timeout: 30s}
    retry: {tries: 1}
    targets: ["` + deadaddr.URL(t) + `"]
routes: [{pool: p}]
`}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := New(ctx, src.read, Options{ManualChecks: true, Logger: discardLogger(), Now: clock})
	require.NoError(t, err)
	defer g.Close()
	status := func() int {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		return rec.Code
	}

	require.Equal(t, http.StatusBadGateway, status(), "the dead backend is tried and fails")
	assert.Equal(t, http.StatusServiceUnavailable, status(), "one failure (max_fails 1) takes it out")
	advance(11 * time.Second)
	assert.Equal(t, http.StatusServiceUnavailable, status(), "11 s later it is still out: fail_timeout is 30 s, not the default 10 s")
	advance(20 * time.Second)
	assert.Equal(t, http.StatusBadGateway, status(), "31 s later it is tried again")
}

// passive.max_fails means what it means in nginx: left out, one failure
// takes a backend out (1); 0 turns passive health off, and the backend
// that failed is tried again at once; 2 takes it out at the second.
func TestMaxFailsFromConfigIsNginxs(t *testing.T) {
	for _, tc := range []struct {
		passive string
		want    []int
	}{
		{"", []int{502, 503, 503}},
		{"passive: {max_fails: 0}", []int{502, 502, 502}},
		{"passive: {max_fails: 2}", []int{502, 502, 503}},
	} {
		t.Run(tc.passive, func(t *testing.T) {
			src := &fakeSource{text: `
pools:
  p:
    ` + tc.passive + `
    retry: {tries: 1}
    targets: ["` + deadaddr.URL(t) + `"]
routes: [{pool: p}]
`}
			g, err := New(context.Background(), src.read, Options{ManualChecks: true, Logger: discardLogger()})
			require.NoError(t, err)
			defer g.Close()
			var got []int
			for range tc.want {
				rec := httptest.NewRecorder()
				g.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
				got = append(got, rec.Code)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// A route's preserve_host sends the client's Host to the backend; without
// it the backend gets its own host:port.
func TestPreserveHostFromConfig(t *testing.T) {
	srvs := backends(t, 1)
	_, gw, _ := start(t, fill(`
pools:
  p: {targets: ["${A}"]}
routes:
  - {host: kept.test, pool: p, preserve_host: true}
  - {pool: p}
`, srvs))
	for host, want := range map[string]string{
		"kept.test":  "kept.test",
		"other.test": strings.TrimPrefix(srvs[0].URL, "http://"),
	} {
		r := send(t, http.DefaultClient, "GET", gw.URL+"/echo", http.Header{"Host": {host}}, "")
		require.Equal(t, 200, r.code, r.body)
		var e struct{ Host string }
		require.NoError(t, jsonUnmarshal(r.body, &e))
		assert.Equal(t, want, e.Host, "Host: %s", host)
	}
}

// The pool's transports pass the client's Accept-Encoding as sent, and
// add none: http.Transport, which takes a chunked body, asks for gzip by
// default (and unzips the answer) unless DisableCompression is set.
func TestThePoolAsksForNoCompression(t *testing.T) {
	srvs := backends(t, 1)
	_, gw, _ := start(t, fill(`
pools:
  p: {targets: ["${A}"]}
routes: [{pool: p}]
`, srvs))
	// A client that adds no Accept-Encoding of its own either.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	for _, tc := range []struct{ name, method, body string }{
		{"direct", "GET", ""},
		{"http.Transport", "POST", "chunked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader // none: the direct path
			if tc.body != "" {
				body = io.MultiReader(strings.NewReader(tc.body)) // no length: sent chunked, and streamed
			}
			req, err := http.NewRequest(tc.method, gw.URL+"/echo", body)
			require.NoError(t, err)
			resp, err := client.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			var e struct{ Headers map[string][]string }
			var buf strings.Builder
			_, err = io.Copy(&buf, resp.Body)
			require.NoError(t, err)
			require.Equal(t, 200, resp.StatusCode, buf.String())
			require.NoError(t, jsonUnmarshal(buf.String(), &e))
			assert.NotContains(t, e.Headers, "Accept-Encoding")
		})
	}
}
