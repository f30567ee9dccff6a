package gateway

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A request without a key (its header missing) is not hashed by a hash
// balancer but spread by smooth weighted round robin (stage 05's
// unkeyed.go), and so must its retries be. They were given the key "#1":
// every keyless retry of every request hashed the same string and went
// to the one backend owning it, as keyless first attempts did before
// stage 05 spread them. Here two of five backends fail, and the round
// (passing over the backend tried, as nginx's does) spreads the retries
// so that the three good ones answer equally often; "#1" sent all the
// retries to one of them. Three tries: the round may send the retry of
// an attempt on one failing backend to the other, as nginx's would (with
// two, 6 requests of 30 got a 502).
func TestKeylessRetriesAreSpread(t *testing.T) {
	for _, name := range []string{"chash", "bounded", "maglev"} {
		t.Run(name, func(t *testing.T) {
			var urls []string
			var good []*atomic.Int32
			for i := range 5 {
				if i == 0 || i == 2 {
					bad, _ := resetter(t, nil)
					urls = append(urls, fmt.Sprintf("%q", bad.URL))
					continue
				}
				srv, hits := counted(t, fmt.Sprint("G", i))
				good = append(good, hits)
				urls = append(urls, fmt.Sprintf("%q", srv.URL))
			}
			_, gw, _ := start(t, fmt.Sprintf(`
pools:
  p:
    balancer: %s
    key: header:X-User
    passive: {max_fails: 0}
    retry: {tries: 3}
    targets: [%s, %s, %s, %s, %s]
routes: [{pool: p}]
`, name, urls[0], urls[1], urls[2], urls[3], urls[4]))
			for i := range 30 {
				code, body := get(t, gw.URL+"/")
				assert.Equal(t, http.StatusOK, code, "request %d: %s", i, body)
			}
			hits := []int32{good[0].Load(), good[1].Load(), good[2].Load()}
			assert.Equal(t, []int32{10, 10, 10}, hits, "the good backends' answers, in order: keyless retries go round, not to one backend")
		})
	}
}
