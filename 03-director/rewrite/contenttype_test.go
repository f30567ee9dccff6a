package rewrite

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestAnUntypedAnswerGetsNoTypeOnTheWay: a backend's answer without a
// Content-Type reaches the client without one, as nginx passes it. The
// server under the proxy added one it guessed from the first bytes of the
// body (http.DetectContentType) whenever they were written before the
// header went out, so a backend's HTML fragment sent with
// "X-Content-Type-Options: nosniff", never meant to be rendered, reached
// browsers as "text/html; charset=utf-8". Whether the header went out
// first was a race (FlushInterval -1 flushes it from a timer): behind a
// writer that cannot flush, the guess was made every time. A backend's
// own Content-Type goes on as it was, once.
func TestAnUntypedAnswerGetsNoTypeOnTheWay(t *testing.T) {
	target := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/typed" {
			w.Header().Set("Content-Type", "application/json")
		} else {
			w.Header()["Content-Type"] = nil // net/http's way to keep a handler's answer untyped
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		io.WriteString(w, "<html><script>alert(1)</script></html>")
	}))
	for _, opts := range []Options{{}, {Transform: Upper}} {
		proxy := New(target, opts)
		fronts := map[string]string{
			"flushing": startProxy(t, proxy),
			"cannot flush": startProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				proxy.ServeHTTP(struct{ http.ResponseWriter }{w}, r) // no Flush, no Unwrap
			})),
		}
		for name, p := range fronts {
			resp, _ := get(t, p+"/untyped", nil, "")
			assert.NotContains(t, resp.Header, "Content-Type", "%s, Transform %v", name, opts.Transform != nil)
			resp, _ = get(t, p+"/typed", nil, "")
			assert.Equal(t, []string{"application/json"}, resp.Header["Content-Type"], "%s, Transform %v", name, opts.Transform != nil)
		}
	}
}
