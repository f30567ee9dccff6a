package gateway

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/05-balancers/balancer"
)

// TestAKeyedRetryGoesToTheKeysNextBackend: the retry of a keyed request
// whose backend failed lands on the backend that serves the key once the
// failed one is removed from the pool, the next one clockwise on the
// ring, as nginx's "hash ... consistent" and HAProxy's consistent hashing
// retry: the retry warms the cache of the backend that would take the key
// over. Before, the retry hashed the key with "#1", an unrelated point,
// and went to any of the three good backends.
//
// Backend A resets every connection; passive health is off, so that A
// stays on the ring and every request for one of its keys fails there
// first. The backend each key should go to is worked out by a balancer
// of the pool's kind and options, built without A.
func TestAKeyedRetryGoesToTheKeysNextBackend(t *testing.T) {
	for _, name := range []string{"chash", "bounded"} {
		t.Run(name, func(t *testing.T) {
			bad, badHits := resetter(t, nil)
			names := map[string]string{} // target id -> backend name
			urls := []string{bad.URL}
			for _, n := range []string{"B", "C", "D"} {
				srv, _ := counted(t, n)
				urls = append(urls, srv.URL)
			}
			g, gw, _ := start(t, fmt.Sprintf(`
pools:
  p:
    balancer: %s
    key: header:X-User
    passive: {max_fails: 0}
    retry: {tries: 2}
    targets: [%q, %q, %q, %q]
routes: [{pool: p}]
`, name, urls[0], urls[1], urls[2], urls[3]))
			p := g.cur.Load().pools["p"]
			full, err := balancer.New(p.cfg.Balancer, p.cfg.BalancerOptions())
			require.NoError(t, err)
			without, err := balancer.New(p.cfg.Balancer, p.cfg.BalancerOptions())
			require.NoError(t, err)
			badID := p.cfg.Targets[0].URL.String()
			for i, tg := range p.cfg.Targets {
				id := tg.URL.String()
				require.NoError(t, full.Add(id, tg.Weight))
				if i > 0 {
					names[id] = []string{"B", "C", "D"}[i-1]
					require.NoError(t, without.Add(id, tg.Weight))
				}
			}
			pick := func(b balancer.Balancer, key string) string {
				id, err := b.Pick(key)
				require.NoError(t, err)
				b.Report(id, balancer.Success)
				return id
			}

			var keys []string // A's keys
			for i := 0; len(keys) < 12; i++ {
				if key := fmt.Sprint("user-", i); pick(full, key) == badID {
					keys = append(keys, key)
				}
			}
			for _, key := range keys {
				code, body := do(t, http.DefaultClient, http.MethodGet, gw.URL+"/", http.Header{"X-User": {key}}, "")
				require.Equal(t, http.StatusOK, code, "%s: %s", key, body)
				assert.Equal(t, names[pick(without, key)], who(body), "%s: the backend that has the key once A is removed", key)
			}
			assert.EqualValues(t, len(keys), badHits.Load(), "each request tried A first")
		})
	}
}
