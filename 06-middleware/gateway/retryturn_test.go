package gateway

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gocourse/gateway/05-balancers/balancer"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A keyless retry is the balancer's own round passing over the backends
// tried (balancer.RoundSkipper), as nginx's loop passes over the peers in
// its tried bitmap before it adds to their current weight: the failed
// backend's turn is neither spent nor gained. The gateway used to ask
// the balancer again and throw away a pick of the backend tried, after
// that pick had spent the backend's turn; it then answered
// B A C A A A A B A C A A A A B here.
//
// Weights {A:5, B:1, C:1}, passive health off, A fails its first
// request only, and its retry goes to B.
func TestAKeylessRetryKeepsTheTriedBackendsTurn(t *testing.T) {
	var failed atomic.Bool
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failed.CompareAndSwap(false, true) {
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		fmt.Fprint(w, "A")
	}))
	t.Cleanup(a.Close)
	named := func(name string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, name) }))
		t.Cleanup(s.Close)
		return s
	}
	b, c := named("B"), named("C")
	_, gw, _ := start(t, strings.NewReplacer("${A}", a.URL, "${B}", b.URL, "${C}", c.URL).Replace(`
pools:
  p:
    balancer: swrr
    passive: {max_fails: 0}
    retry: {tries: 2}
    targets: [{url: "${A}", weight: 5}, {url: "${B}", weight: 1}, {url: "${C}", weight: 1}]
routes: [{pool: p}]
`))
	var got []string
	for range 15 {
		code, body := get(t, gw.URL+"/")
		assert.Equal(t, http.StatusOK, code, body)
		got = append(got, body)
	}
	want := strings.Fields("B A C A A B A A A C A A B A A")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the backends that answered, in order (-want +got):\n%s", diff)
	}
}

// The same rule over many requests, through the pool's own pick: A fails
// one attempt in four, each failure is retried once, passive health is
// off. A gets its weight's share of first attempts (5000 of 7000 with
// weights {5, 1, 1}, a third with round robin's equal turns), and the
// retries are a quarter of them. When retries threw away picks of A,
// those picks took B's turns: A got 5599 first attempts and B 1 (1399
// retries), and with round robin A got 2546 and B 1909 (636 retries).
func TestKeylessRetriesKeepFirstAttemptsInProportion(t *testing.T) {
	for _, c := range []struct {
		balancer, weights string
		first             map[string]int
		retries           int
	}{
		{"swrr", "5, 1, 1", map[string]int{"A": 5000, "B": 999, "C": 1001}, 1250},
		{"roundrobin", "1, 1, 1", map[string]int{"A": 2334, "B": 2333, "C": 2333}, 583},
	} {
		t.Run(c.balancer, func(t *testing.T) {
			w := strings.Split(c.weights, ", ")
			g, _, _ := start(t, fmt.Sprintf(`
pools:
  p:
    balancer: %s
    passive: {max_fails: 0}
    targets: [{url: "http://a.test", weight: %s}, {url: "http://b.test", weight: %s}, {url: "http://c.test", weight: %s}]
routes: [{pool: p}]
`, c.balancer, w[0], w[1], w[2]))
			p := g.cur.Load().pools["p"]
			name := map[string]string{"http://a.test": "A", "http://b.test": "B", "http://c.test": "C"}
			first := map[string]int{}
			retries, onA := 0, 0
			for range 7000 {
				pk, err := p.pick("", nil)
				require.NoError(t, err)
				first[name[pk.id]]++
				if name[pk.id] == "A" {
					if onA++; onA%4 == 0 {
						p.failed(pk)
						retries++
						pk, err = p.pick("", []string{pk.id})
						require.NoError(t, err)
					}
				}
				p.report(pk, balancer.Success)
			}
			if diff := cmp.Diff(c.first, first); diff != "" {
				t.Errorf("first attempts per backend (-want +got):\n%s", diff)
			}
			assert.Equal(t, c.retries, retries)
		})
	}
}
