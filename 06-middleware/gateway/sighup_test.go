//go:build unix

package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSIGHUPReloads(t *testing.T) {
	srvs := backends(t, 2)
	url, file, _ := runFile(t, fill("pools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p}]\n", srvs))
	r := send(t, http.DefaultClient, "GET", url+"/", nil, "")
	require.Equal(t, "A", r.backend)

	require.NoError(t, os.WriteFile(file, []byte(fill("pools: {p: {targets: [\"${B}\"]}}\nroutes: [{pool: p}]\n", srvs)), 0o644))
	require.NoError(t, hupSelf())
	require.Eventually(t, func() bool { // runs in another goroutine: no require in here
		resp, err := http.Get(url + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.Header.Get("X-Backend") == "B"
	}, 10*time.Second, time.Millisecond, "after SIGHUP the new file serves")
}

// TestSIGHUPDuringShutdownIsHarmless: a SIGHUP that arrives while the
// program drains a request (a deploy script's reload racing a stop) must
// neither kill the process (SIGHUP's default action) nor cut the request:
// Run keeps the signal caught until it returns.
func TestSIGHUPDuringShutdownIsHarmless(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		io.WriteString(w, "finished\n")
	}))
	defer slow.Close()
	other := backends(t, 1)
	url, file, stop := runFile(t, "pools: {p: {targets: ["+slow.URL+"]}}\nroutes: [{pool: p}]\n")

	got := make(chan string, 1)
	go func() {
		resp, err := http.Get(url + "/")
		if err != nil {
			got <- err.Error()
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		got <- string(body)
	}()
	receive(t, arrived, "the request at the backend")

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	waitListenerClosed(t, url) // shutdown has begun
	// A new file, which a reload now would serve: the request in flight
	// keeps the pool it started on whatever happens.
	require.NoError(t, os.WriteFile(file, []byte(fill("pools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p}]\n", other)), 0o644))
	for range 2 {
		require.NoError(t, hupSelf())
	}
	close(release)
	assert.Equal(t, "finished\n", receive(t, got, "the response"), "the request in flight completed")
	assert.NoError(t, receive(t, stopped, "the program to stop"), "then the program stopped cleanly")
}
