package gateway

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/01-backends/deadaddr"
)

// ledger records, across backends, how many times each POST (by its body)
// was received.
type ledger struct {
	mu   sync.Mutex
	seen map[string]int
}

// handler is a demo backend that writes POSTs into the ledger. While hold
// is set, it tells arrived about each GET and holds it until its
// connection is cut. (Holding POSTs too could hold every client before a
// GET arrives.)
func (l *ledger) handler(name string, hold *atomic.Bool, arrived chan<- struct{}) http.Handler {
	h := backend.New(name)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			l.mu.Lock()
			l.seen[string(body)]++
			l.mu.Unlock()
		}
		if hold != nil && hold.Load() && r.Method == http.MethodGet {
			select {
			case arrived <- struct{}{}:
			default:
			}
			<-r.Context().Done()
			return
		}
		h.ServeHTTP(w, r)
	})
}

// A backend dies while GETs and POSTs stream through the gateway. Every
// GET succeeds (those that fail on the dead backend are retried), and no
// POST reaches a backend twice.
func TestBackendKilledMidLoad(t *testing.T) {
	l := &ledger{seen: map[string]int{}}
	var hold atomic.Bool
	arrived := make(chan struct{}, 1)
	srvs := make([]*httptest.Server, 3)
	for i := range srvs {
		if i == 1 { // B is the one that dies: closed, its address keeps refusing
			srvs[i] = deadaddr.NewServer(t, l.handler(backend.Name(i), &hold, arrived))
		} else {
			srvs[i] = httptest.NewServer(l.handler(backend.Name(i), nil, nil))
		}
		t.Cleanup(srvs[i].Close)
	}
	_, gw, _ := start(t, fill(`
pools:
  p:
    balancer: roundrobin
    targets: ["${A}", "${B}", "${C}"]
routes: [{pool: p}]
`, srvs))

	const workers, perWorker = 6, 40
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	defer client.CloseIdleConnections()
	var done atomic.Int32
	killAt := make(chan struct{})
	var getFailures, postFailures atomic.Int32
	var okPosts sync.Map
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				var resp *http.Response
				var err error
				id := fmt.Sprintf("order-%d-%d", w, i)
				post := i%2 == 1
				if post {
					resp, err = client.Post(gw.URL+"/echo", "text/plain", strings.NewReader(id))
				} else {
					resp, err = client.Get(gw.URL + "/")
				}
				ok := err == nil && resp.StatusCode == 200
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				switch {
				case !ok && post:
					postFailures.Add(1)
				case !ok:
					getFailures.Add(1)
				case post:
					okPosts.Store(id, true)
				}
				if done.Add(1) == workers*perWorker/3 {
					close(killAt)
				}
			}
		})
	}
	receive(t, killAt, "a third of the requests done")
	hold.Store(true)
	<-arrived                        // a GET is in flight at B
	srvs[1].Listener.Close()         // no new connections to B...
	srvs[1].CloseClientConnections() // ...and the open ones are cut, requests in flight included
	wg.Wait()

	assert.Zero(t, getFailures.Load(), "GETs are idempotent: a failure on B is retried on A or C")
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, n := range l.seen {
		assert.Equal(t, 1, n, "POST %s reached the backends %d times", id, n)
	}
	okPosts.Range(func(id, _ any) bool {
		assert.Equal(t, 1, l.seen[id.(string)], "POST %s succeeded, so a backend saw it once", id)
		return true
	})
	t.Logf("POSTs that failed with B: %d (not retried once sent)", postFailures.Load())
	require.NotZero(t, len(l.seen))
}
