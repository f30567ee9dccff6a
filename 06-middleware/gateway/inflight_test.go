package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A backend's request counts as in flight until the answer's body is
// closed, not only until its header arrives: the pool reports Success
// when the body is closed, so a least-connections pool sees a backend
// sending a long download or a stream as busy. Reported when the header
// came, a streaming backend looked idle to leastconn, which sent it every
// other request its idle peer did not get.
//
// The short requests go one at a time on one connection (MaxConnsPerHost
// 1), so each is read by the gateway only once the one before has been
// answered and its body closed: its own report is never still on its way
// when the next is picked.
func TestAnAnswerBeingSentCountsAsInFlight(t *testing.T) {
	release := make(chan struct{})
	streaming := make(chan string, 1)
	var srvs []*httptest.Server
	for _, name := range []string{"A", "B"} {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Backend", name)
			if r.URL.Path == "/stream" {
				io.WriteString(w, "the first part\n")
				http.NewResponseController(w).Flush()
				streaming <- name
				<-release
				return
			}
			io.WriteString(w, "hello")
		}))
		t.Cleanup(s.Close)
		srvs = append(srvs, s)
	}
	_, gw, _ := start(t, fill(`
pools: {p: {balancer: leastconn, targets: ["${A}", "${B}"]}}
routes: [{pool: p}]
`, srvs))

	resp, err := http.Get(gw.URL + "/stream") // returns with the header: the pool's RoundTrip has returned
	require.NoError(t, err)
	defer resp.Body.Close()
	defer close(release)
	busy := receive(t, streaming, "the stream's first part")

	one := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	defer one.CloseIdleConnections()
	for i := range 4 {
		r := send(t, one, "GET", gw.URL+"/", nil, "")
		assert.NotEqual(t, busy, r.backend, "request %d went to the backend still sending the stream", i)
	}
}
