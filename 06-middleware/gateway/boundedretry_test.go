package gateway

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A retry keeps bounded loads' bound: it goes to a backend not tried yet
// only if that backend is below its capacity, and when none is, the
// client gets the failure of the attempt that was made. Two backends of
// weight 1, c = 1.25; B holds 2 requests (picked in the test, as if
// still running). A request makes the load 3, and each capacity is
// ceil(1.25 × 3/2) = 2: B is full, so the request goes to A, which drops
// the connection. Its retry may not have A again, and B is still full:
// no retry, 502. Before, the pool's last resort (PickExcept) sent it to B,
// a third request where its capacity is 2. A request with a key is
// retried by the ring walk (PickNext), which keeps the bound the same way.
func TestARetryKeepsTheBoundedLoad(t *testing.T) {
	for name, key := range map[string]string{"keyless": "", "keyed": "\n    key: header:X-User"} {
		t.Run(name, func(t *testing.T) {
			a, aHits := resetter(t, nil)
			b, bHits := counted(t, "B")
			g, gw, _ := start(t, fmt.Sprintf(`
pools:
  p:
    balancer: bounded%s
    passive: {max_fails: 0}
    retry: {tries: 2}
    targets: [%q, %q]
routes: [{pool: p}]
`, key, a.URL, b.URL))
			except := g.cur.Load().pools["p"].bal.(excepter)
			for range 2 {
				id, err := except.PickExcept(func(id string) bool { return id != b.URL })
				require.NoError(t, err)
				require.Equal(t, b.URL, id, "B below its capacity (1, then 2)")
			}

			r := send(t, http.DefaultClient, "GET", gw.URL+"/", http.Header{"X-User": {"user-1"}}, "")
			assert.Equal(t, http.StatusBadGateway, r.code, r.body)
			assert.EqualValues(t, 1, aHits.Load(), "the first attempt went to A, B being full")
			assert.EqualValues(t, 0, bHits.Load(), "the retry went to B, past its capacity of 2")
		})
	}
}
