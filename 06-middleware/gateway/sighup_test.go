//go:build unix

package gateway

import (
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSIGHUPReloads(t *testing.T) {
	srvs := backends(t, 2)
	url, file, _ := runFile(t, fill("pools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p}]\n", srvs))
	r := send(t, http.DefaultClient, "GET", url+"/", nil, "")
	require.Equal(t, "A", r.backend)

	require.NoError(t, os.WriteFile(file, []byte(fill("pools: {p: {targets: [\"${B}\"]}}\nroutes: [{pool: p}]\n", srvs)), 0o644))
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	require.Eventually(t, func() bool { // runs in another goroutine: no require in here
		resp, err := http.Get(url + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.Header.Get("X-Backend") == "B"
	}, 10*time.Second, time.Millisecond, "after SIGHUP the new file serves")
}
