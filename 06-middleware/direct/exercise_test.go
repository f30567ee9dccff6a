//go:build exercise

package direct

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Exercise 4 of chapter 06, part 2: when a backend's idle pool is full,
// drop the oldest idle connection, the one the backend's own idle timeout
// will close first, rather than the one being given back.
//
//	go test -tags exercise -run TestAFullPoolDropsTheOldest ./06-middleware/direct
func TestAFullPoolDropsTheOldest(t *testing.T) {
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	start := time.Unix(1000, 0)
	now := start
	tr := &Transport{Fallback: &fallback{}, MaxIdlePerHost: 2, Now: func() time.Time { return now }}
	defer tr.CloseIdleConnections()

	var open []*http.Response
	for range 3 { // three at once: three connections
		resp, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL))
		require.NoError(t, err)
		open = append(open, resp)
	}
	for _, resp := range open { // given back one second apart
		now = now.Add(time.Second)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	tr.mu.Lock()
	var since []time.Duration
	for _, list := range tr.idle {
		for _, c := range list {
			since = append(since, c.since.Sub(start))
		}
	}
	tr.mu.Unlock()
	assert.Equal(t, []time.Duration{2 * time.Second, 3 * time.Second}, since,
		"the pool keeps the two newest, oldest first")
	assert.Len(t, tr.idleConns(), 2)
}
