package gateway

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A pool's load_factor reaches its bounded-load balancer. Two requests
// for one key are held in flight together: with c = 3 a backend may
// take ceil(3 x 2 / 3) = 2 of them, so the second stays on the key's
// backend; with the default c = 1.25 it may take ceil(2.5 / 3) = 1, so
// the second moves on. A pool that dropped the option would move it.
func TestLoadFactorFromConfig(t *testing.T) {
	secondStays := func(t *testing.T, option string) bool {
		arrived := make(chan string, 2)
		release := make(chan struct{})
		var srvs []*httptest.Server
		for _, name := range []string{"A", "B", "C"} {
			s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				arrived <- name
				<-release
			}))
			t.Cleanup(s.Close)
			srvs = append(srvs, s)
		}
		_, gw, _ := start(t, fill(`
pools:
  p:
    balancer: bounded
    key: path
    `+option+`
    targets: ["${A}", "${B}", "${C}"]
routes: [{pool: p}]
`, srvs))
		var wg sync.WaitGroup
		defer wg.Wait()
		defer close(release)
		get := func() {
			resp, err := http.Get(gw.URL + "/one-key")
			if err == nil {
				resp.Body.Close()
			}
		}
		wg.Go(get)
		first := <-arrived // held in flight
		wg.Go(get)
		second := <-arrived
		return second == first
	}
	require.False(t, secondStays(t, ""), "with the default load factor the second request must move, or this test proves nothing")
	assert.True(t, secondStays(t, "load_factor: 3"), "load_factor 3 lets the key's backend take both requests")
}
