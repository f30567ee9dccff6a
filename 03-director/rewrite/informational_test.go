package rewrite

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHeadersSetBeforeTheProxyOutliveAnEarlyHint: httputil.ReverseProxy
// clears the response header after it passes a 1xx on (Go issue 81207),
// so what a layer outside the proxy set before calling it (CORS's Vary,
// say) would be sent with the 103 and missing from the final answer. The
// proxy puts it back, in front of the backend's own values, as it is
// without a 1xx.
func TestHeadersSetBeforeTheProxyOutliveAnEarlyHint(t *testing.T) {
	target := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</app.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link") // Go's server would send it again
		w.Header().Set("Vary", "Accept-Encoding")
		io.WriteString(w, "hi\n")
	}))
	for _, hide := range [][]string{nil, {"Server"}} {
		proxy := New(target, Options{HideResponseHeaders: hide})
		p := startProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "Origin") // as a CORS layer does
			w.Header().Set("X-Outer", "1")
			proxy.ServeHTTP(w, r)
		}))

		hints, resp, body := getWithHints(t, p+"/")

		require.Len(t, hints, 1, "the 103 reaches the client")
		assert.Equal(t, "</app.css>; rel=preload", hints[0].Get("Link"))
		assert.Equal(t, "hi\n", body)
		assert.Equal(t, []string{"Origin", "Accept-Encoding"}, resp.Header.Values("Vary"), "hide %v: the outer layer's value, then the backend's", hide)
		assert.Equal(t, "1", resp.Header.Get("X-Outer"), "hide %v", hide)
		assert.Empty(t, resp.Header.Get("Link"), "hide %v: the hint's own header is not carried into the answer", hide)
	}
}

// Keeping the header a layer outside set costs a copy of it: a request
// with no header set yet pays for none, and New's proxy (no Picker, no
// hidden headers) costs what its ReverseProxy alone does and one
// allocation more, the writer that keeps the untyped mark across a 1xx.
func TestAnEmptyHeaderIsNotKept(t *testing.T) {
	p := New(&url.URL{Scheme: "http", Host: "backend.example"}, Options{Transport: &answering{}})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	w := &discard{h: http.Header{}}
	direct := testing.AllocsPerRun(100, func() { clear(w.h); p.reverse.ServeHTTP(w, req) })
	through := testing.AllocsPerRun(100, func() { clear(w.h); p.ServeHTTP(w, req) })
	assert.Equal(t, direct+1, through, "allocations of a request through Proxy.ServeHTTP and through its ReverseProxy alone")
}

// TestEarlyHintsLoseTheirHopByHopFields: a proxy must remove Connection,
// the fields it names, and the other hop-by-hop fields before it forwards
// a message (RFC 9110, section 7.6.1), a backend's 1xx (103 Early Hints)
// included. httputil.ReverseProxy removes them from the final answer
// only, and passes a 1xx on as its transport hands it over; the proxy's
// writer takes them out (keepingWriter, DropHopByHop). Headers a layer
// outside set before the proxy still reach the final answer.
func TestEarlyHintsLoseTheirHopByHopFields(t *testing.T) {
	target := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Link", "</app.css>; rel=preload")
		h.Set("Connection", "X-Internal")
		h.Set("X-Internal", "for the proxy only")
		h.Set("Keep-Alive", "timeout=5")
		w.WriteHeader(http.StatusEarlyHints)
		clear(h) // Go's server would send them again
		io.WriteString(w, "hi\n")
	}))
	proxy := New(target, Options{})
	outside := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Outside", "set before the proxy") // a layer outside
		proxy.ServeHTTP(w, r)
	})
	p := startProxy(t, outside)

	hints, resp, body := getWithHints(t, p+"/")

	require.Len(t, hints, 1, "the 103 reaches the client")
	want := textproto.MIMEHeader{
		"Link":      {"</app.css>; rel=preload"},
		"X-Outside": {"set before the proxy"},
	} // no Connection, no X-Internal it names, no Keep-Alive
	if diff := cmp.Diff(want, hints[0]); diff != "" {
		t.Errorf("the 103 the client got (-want +got):\n%s", diff)
	}
	assert.Equal(t, "hi\n", body)
	assert.Empty(t, resp.Header.Get("X-Internal"), "the final answer carries none of them")
	assert.Equal(t, "set before the proxy", resp.Header.Get("X-Outside"), "the final answer keeps the outside layer's header")
}

// getWithHints GETs url and returns the 1xx headers the client saw (in
// order), the answer, and its body, read to the end.
func getWithHints(t *testing.T, url string) ([]textproto.MIMEHeader, *http.Response, string) {
	t.Helper()
	var hints []textproto.MIMEHeader
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		hints = append(hints, h)
		return nil
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	return hints, resp, string(body)
}

// TestAnUntypedAnswerAfterAnEarlyHintGetsNoType: ReverseProxy clears the
// response header after it passes a 1xx on, and with it the mark that
// keeps net/http's server from guessing a type (untyped). A backend's
// HTML fragment sent without a Content-Type after a 103 Early Hints
// reached the client as "text/html; charset=utf-8"; it must arrive
// untyped, as it does without the 103, whether or not a layer outside
// the proxy set headers first. A backend's own type still goes on.
func TestAnUntypedAnswerAfterAnEarlyHintGetsNoType(t *testing.T) {
	target := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</app.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		if r.URL.Path == "/typed" {
			w.Header().Set("Content-Type", "application/json")
		} else {
			w.Header()["Content-Type"] = nil // net/http's way to keep a handler's answer untyped
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		io.WriteString(w, "<html><script>alert(1)</script></html>")
	}))
	proxy := New(target, Options{})
	for _, outer := range []bool{false, true} {
		// Behind a writer that cannot flush, the server guesses whenever
		// it can: behind one that can, only when the body is written
		// before FlushInterval's timer sends the header (a race).
		p := startProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if outer {
				w.Header().Set("X-Outer", "1")
			}
			proxy.ServeHTTP(struct{ http.ResponseWriter }{w}, r) // no Flush, no Unwrap
		}))

		hints, resp, body := getWithHints(t, p+"/untyped")
		require.Len(t, hints, 1, "the 103 reaches the client")
		assert.Equal(t, "<html><script>alert(1)</script></html>", body)
		assert.NotContains(t, resp.Header, "Content-Type", "outer headers %v", outer)

		_, resp, _ = getWithHints(t, p+"/typed")
		assert.Equal(t, []string{"application/json"}, resp.Header["Content-Type"], "outer headers %v", outer)
	}
}
