package rewrite

import (
	"bytes"
	"log"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/02-single-proxy/proxy"
)

// lockedBuffer is a bytes.Buffer that the proxy's goroutines may write to
// while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// captureLog sends the default slog logger's records to the returned
// buffer, as text, until the test ends. slog.SetDefault also points the
// log package at the new handler, so its output and flags are put back
// too. (No test in this package runs in parallel.)
func captureLog(t *testing.T) *lockedBuffer {
	t.Helper()
	logged := new(lockedBuffer)
	old, oldOut, oldFlags := slog.Default(), log.Writer(), log.Flags()
	slog.SetDefault(slog.New(slog.NewTextHandler(logged, nil)))
	t.Cleanup(func() {
		slog.SetDefault(old)
		log.SetOutput(oldOut)
		log.SetFlags(oldFlags)
	})
	return logged
}

// TestTheLogKeepsWhatHideBackendHides: with HideBackend the client learns
// only the kind of failure (TestHideBackend); the backend's address, the
// path it was sent and the transport's error are in the log, one line per
// answer, both for an error the gateway answers itself and for a backend's
// 5xx page that ErrorPages replaced.
func TestTheLogKeepsWhatHideBackendHides(t *testing.T) {
	logged := captureLog(t)
	dead, live := deadURL(t), startBackend(t, nil)
	transport := proxy.NewTransport()
	mux := http.NewServeMux()
	mux.Handle("/dead/", New(dead, Options{StripPrefix: "/dead", HideBackend: true, Transport: transport}))
	mux.Handle("/live/", New(live, Options{StripPrefix: "/live", HideBackend: true, ErrorPages: true, Transport: transport}))
	p := startProxy(t, mux)

	for _, tc := range []struct {
		path string
		code int
		want []string // in the answer's log line
	}{
		{"/dead/x", http.StatusBadGateway, []string{"level=WARN", "status=502", "url=http://" + dead.Host + "/x", `err="dial tcp ` + dead.Host}},
		{"/live/status/503", http.StatusServiceUnavailable, []string{"level=WARN", "status=503", "url=http://" + live.Host + "/status/503"}},
	} {
		before := len(logged.String())
		resp, body := get(t, p+tc.path, nil, "")
		assert.Equal(t, tc.code, resp.StatusCode, tc.path)
		assert.NotContains(t, body, "127.0.0.1", "%s: the answer names a backend", tc.path)
		var lines []string
		if added := logged.String()[before:]; added != "" {
			lines = strings.Split(strings.TrimSuffix(added, "\n"), "\n")
		}
		if assert.Len(t, lines, 1, "%s: one log line per answer:\n%s", tc.path, logged.String()) {
			for _, w := range tc.want {
				assert.Contains(t, lines[0], w, tc.path)
			}
		}
	}
}
