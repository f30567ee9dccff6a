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

// A keyless retry asks the balancer again (pool.pick), and with smooth
// weighted round robin a pick of the backend already tried is thrown
// away (unpick) after it has spent that backend's turn: its current
// weight lost the round's total. nginx's loop skips tried peers before
// it touches their weights, so the failed backend keeps its turn. The
// chapter says so as a known limitation ("A retry spends the tried
// backend's turn"); this test keeps the sequence it prints true, and
// fails the day stage 05's balancers skip tried backends inside their
// round (see the chapter for why PickExcept, as it is, is no fix).
//
// Weights {A:5, B:1, C:1}, passive health off, A fails its first
// request only. nginx's rule would answer
// B A C A A B A A A C A A B A A; the gateway answers the sequence below,
// A's turn spent on the retry's thrown-away pick.
func TestAKeylessRetrySpendsTheTriedBackendsTurn(t *testing.T) {
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
	want := strings.Fields("B A C A A A A B A C A A A A B")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the backends that answered, in order (-want +got):\n%s", diff)
	}
}

// The chapter's figures for the same limitation over many requests,
// through the pool's own pick: A (weight 5) fails one attempt in four,
// each failure is retried once, passive health is off. nginx's rule
// gives A its 5/7 of first attempts (5000 of 7000, B and C 1000 each);
// here the retries' thrown-away picks of A take B's turns, and A gets
// more first attempts, so more failures and more retries. Roundrobin
// with equal weights does the same in a smaller way (nginx: 2333 each).
func TestKeylessRetriesSkewFirstAttemptsTowardsTheFailingBackend(t *testing.T) {
	for _, c := range []struct {
		balancer, weights string
		first             map[string]int
		retries           int
	}{
		{"swrr", "5, 1, 1", map[string]int{"A": 5599, "B": 1, "C": 1400}, 1399},
		{"roundrobin", "1, 1, 1", map[string]int{"A": 2546, "B": 1909, "C": 2545}, 636},
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
