package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A backend that sends its header and part of a body, then stops, is cut
// off after the pool's response_body_timeout: the client's read of the
// body ends, short, instead of waiting for as long as the backend likes.
// On both of the pool's transports: a GET takes the direct path, a POST
// with a streamed body http.Transport's.
func TestAStalledResponseBodyIsCutOff(t *testing.T) {
	release := make(chan struct{})
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Length", "100")
		w.Write([]byte("the first ten"))
		w.(http.Flusher).Flush()
		<-release
	}))
	t.Cleanup(stall.Close)
	t.Cleanup(func() { close(release) }) // runs first: the handler returns, then the server closes
	_, gw, _ := start(t, strings.ReplaceAll(`
pools:
  p:
    transport: {response_body_timeout: 50ms}
    retry: {tries: 1, max_body_bytes: 0}
    targets: ["${A}"]
routes: [{pool: p}]
`, "${A}", stall.URL))

	for name, method := range map[string]string{"direct": http.MethodGet, "http.Transport": http.MethodPost} {
		t.Run(name, func(t *testing.T) {
			var body io.Reader
			if method == http.MethodPost {
				body = io.MultiReader(strings.NewReader("a streamed body")) // unknown length: chunked
			}
			req, err := http.NewRequest(method, gw.URL+"/x", body)
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			type result struct {
				b   []byte
				err error
			}
			done := make(chan result, 1)
			go func() {
				b, err := io.ReadAll(resp.Body)
				done <- result{b, err}
			}()
			r := receive(t, done, "the body to end")
			assert.Equal(t, "the first ten", string(r.b))
			assert.ErrorIs(t, r.err, io.ErrUnexpectedEOF, "cut off: 13 of 100 bytes")
		})
	}
}
