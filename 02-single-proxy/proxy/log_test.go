package proxy_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/02-single-proxy/proxytest"
)

// The chapter shows the proxy's terminal: every failed request leaves one
// line on standard error (slog's default logger) that says which request,
// which backend and why, the reason the 502's body quotes.
func TestErrorHandlerLogsEachFailure(t *testing.T) {
	logged := proxytest.CaptureLog(t)
	target := proxytest.DeadTarget(t)
	front := httptest.NewServer(proxy.New(target, nil))
	defer front.Close()

	for _, path := range []string{"/", "/echo"} {
		resp, _ := getBody(t, front.Client(), front.URL+path)
		assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	}
	lines := strings.Split(strings.TrimSuffix(logged.String(), "\n"), "\n")
	if assert.Len(t, lines, 2, "one line per failed request:\n%s", logged.String()) {
		for i, path := range []string{"/", "/echo"} {
			want := `level=WARN msg="proxy: cannot forward" method=GET path=` + path + ` backend=` + target.Host + ` err="dial tcp ` + target.Host + `: `
			assert.True(t, strings.HasPrefix(lines[i], want), "log line %d:\n%s\nwant it to start with\n%s", i, lines[i], want)
		}
	}
}
