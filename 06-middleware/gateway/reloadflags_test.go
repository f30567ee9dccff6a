package gateway

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/transcript"
)

// With -listen and -admin given, the file's listen.addr and admin.addr
// are not what the servers use, now or after a restart with the same
// flags. A reload that changes them must not say the change waits for a
// restart (it did: the file was compared with the file read at start),
// but that the address is not used; one that changes a limit of the
// listen section still waits for a restart, and says so.
func TestAReloadComparesTheAddressesInUse(t *testing.T) {
	keepRuntime(t)
	var log lockedBuffer
	logOutput = &log
	t.Cleanup(func() { logOutput = os.Stderr })
	text := fill("listen: {addr: 127.0.0.1:8080, send_timeout: 60s}\nadmin: {addr: 127.0.0.1:9090, token: s3cret}\npools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p}]\n", backends(t, 1))
	file := filepath.Join(t.TempDir(), "gateway.yaml")
	require.NoError(t, os.WriteFile(file, []byte(text), 0o644))
	ctx, cancel := context.WithCancel(context.Background())
	out := transcript.NewLineWriter(100)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"-config", file, "-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0"}, out)
	}()
	t.Cleanup(func() { cancel(); <-done })
	var admin string
	for admin == "" {
		select {
		case line := <-out.Lines:
			if a, ok := strings.CutPrefix(line, "admin listening on "); ok {
				admin = a
			}
		case err := <-done:
			t.Fatalf("Run returned early: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("Run printed no admin address within 10s")
		}
	}
	reload := func(text string) string {
		t.Helper()
		require.NoError(t, os.WriteFile(file, []byte(text), 0o644))
		code, body := do(t, http.DefaultClient, "POST", admin+"/admin/reload", http.Header{"Authorization": {"Bearer s3cret"}}, "")
		require.Equal(t, http.StatusOK, code, body)
		return body
	}
	const restart = "reload: listen and admin addresses and limits change only on restart"

	assert.Equal(t, "reloaded\n", reload(text), "the file read at start")
	moved := strings.NewReplacer("8080", "8081", "9090", "9091").Replace(text)
	body := reload(moved)
	assert.NotContains(t, body, restart, "both addresses the file gives are replaced by flags")
	assert.Contains(t, body, "reload: listen.addr is not used: -listen gives the address")
	assert.Contains(t, body, "reload: admin.addr is not used: -admin gives the address")
	body = reload(strings.Replace(moved, "60s", "30s", 1))
	assert.Contains(t, body, restart, "send_timeout is the file's")
	assert.Equal(t, "reloaded\n", reload(text), "back to the file read at start")
}
