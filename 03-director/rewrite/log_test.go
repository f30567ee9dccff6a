package rewrite

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/02-single-proxy/proxytest"
)

// TestTheLogKeepsWhatHideBackendHides: with HideBackend the client learns
// only the kind of failure (TestHideBackend); the backend's address, the
// path it was sent and the transport's error are in the log, one line per
// answer, both for an error the gateway answers itself and for a backend's
// 5xx page that ErrorPages replaced.
func TestTheLogKeepsWhatHideBackendHides(t *testing.T) { checkOneLogLinePerAnswer(t, true) }

// TestErrorAnswersAreLoggedToo: without HideBackend, when the answer itself
// names the backend and quotes the error, the log has the same line: it is
// what a program's terminal shows, on standard error, beside the
// transcripts of the chapter's "Run it", which leave it out.
func TestErrorAnswersAreLoggedToo(t *testing.T) { checkOneLogLinePerAnswer(t, false) }

func checkOneLogLinePerAnswer(t *testing.T, hide bool) {
	logged := proxytest.CaptureLog(t)
	dead, live := deadURL(t), startBackend(t, nil)
	transport := proxy.NewTransport()
	mux := http.NewServeMux()
	mux.Handle("/dead/", New(dead, Options{StripPrefix: "/dead", HideBackend: hide, Transport: transport}))
	mux.Handle("/live/", New(live, Options{StripPrefix: "/live", HideBackend: hide, ErrorPages: true, Transport: transport}))
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
		if hide {
			assert.NotContains(t, body, "127.0.0.1", "%s: the answer names a backend", tc.path)
		}
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
