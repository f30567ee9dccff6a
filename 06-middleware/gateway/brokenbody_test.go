package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A streamed request body that breaks off (here a malformed chunk
// length) is the client's fault: a 400 that says so, and no failure
// counted against the backend the attempt was sent to. Counted, with
// max_fails 1 (the default), it took a healthy backend out for
// fail_timeout, and the next client got a 503.
func TestABrokenUploadIsTheClientsFault(t *testing.T) {
	srvs := backends(t, 1)
	_, gw, _ := start(t, fill(`
pools:
  p:
    targets: ["${A}"]
routes: [{pool: p}]
`, srvs))

	c, err := net.Dial("tcp", strings.TrimPrefix(gw.URL, "http://"))
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "POST /echo HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, string(body))
	assert.Contains(t, string(body), "the request body could not be read")

	code, body2 := get(t, gw.URL+"/")
	assert.Equal(t, http.StatusOK, code, "the backend is still up: %s", body2)
}

// A chunked upload that goes past the route's body-limit is the
// client's fault too: the transport gives up on it as it would on a
// backend that resets, but the client gets the limit's 413 and the
// backend no penalty (with max_fails 1, counted, it took the only
// backend out and the next request got a 503).
func TestABodyPastTheLimitIsTheClientsFault(t *testing.T) {
	srvs := backends(t, 1)
	_, gw, _ := start(t, fill(`
pools:
  p:
    targets: ["${A}"]
routes:
  - pool: p
    middleware: [{name: body-limit, max_bytes: 10}]
`, srvs))

	chunked := struct{ io.Reader }{strings.NewReader(strings.Repeat("x", 100))} // no length: sent chunked
	resp, err := http.Post(gw.URL+"/echo", "text/plain", chunked)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, string(body))

	code, body2 := get(t, gw.URL+"/")
	assert.Equal(t, http.StatusOK, code, "the backend is still up: %s", body2)
}
