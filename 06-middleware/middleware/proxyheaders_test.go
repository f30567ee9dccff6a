package middleware_test

import (
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/06-middleware/onion"
)

// TestProxiedResponseHasOneOfEachField: an upstream behind
// httputil.ReverseProxy that sends its own Access-Control-Allow-Origin
// and echoes the X-Request-Id it got; the proxy adds its fields beside the
// layers', and the layers replace them as the header goes out, so the
// client gets one value of each (a browser refuses two
// Access-Control-Allow-Origin values).
func TestProxiedResponseHasOneOfEachField(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set(middleware.HeaderRequestID, "upstream-"+r.Header.Get(middleware.HeaderRequestID))
		io.WriteString(w, "hello")
	}))
	defer upstream.Close()
	target, err := url.Parse(upstream.URL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	cors := middleware.CORS(middleware.CORSConfig{Origins: []string{"https://app.example"}})
	h := onion.Chain{middleware.RequestID(ids()), cors}.Then(proxy)

	for _, flush := range []bool{false, true} {
		var handler http.Handler = h
		if flush { // the header goes out with a flush before any byte
			handler = onion.Chain{middleware.RequestID(ids()), cors}.Then(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Add("Access-Control-Allow-Origin", "*")
				w.Header().Add(middleware.HeaderRequestID, "upstream-id")
				http.NewResponseController(w).Flush()
			}))
		}
		for _, tc := range []struct{ origin, allowed string }{
			{"https://app.example", "https://app.example"},
			{"https://evil.example", ""}, // the layer's list decides, not the upstream's "*"
		} {
			rec := get(handler, "/", "Origin", tc.origin)
			got := rec.Result().Header // as it was when the header went out
			var want []string
			if tc.allowed != "" {
				want = []string{tc.allowed}
			}
			if diff := cmp.Diff(want, got.Values("Access-Control-Allow-Origin")); diff != "" {
				t.Errorf("flush=%v origin %s: Access-Control-Allow-Origin (-want +got):\n%s", flush, tc.origin, diff)
			}
			if ids := got.Values(middleware.HeaderRequestID); len(ids) != 1 || !strings.HasPrefix(ids[0], "id-") {
				t.Errorf("flush=%v origin %s: X-Request-Id %q, want the layer's one", flush, tc.origin, ids)
			}
		}
	}
}

// A handler that panics after adding its own Access-Control-Allow-Origin
// and X-Request-Id: Recover's 500 carries the layers' values, one each,
// and none for an origin the layer refuses (the layers set their fields
// on the way out of a panic too).
func TestA500CarriesTheLayersFields(t *testing.T) {
	h := onion.Chain{
		middleware.Recover(slog.New(slog.DiscardHandler)),
		middleware.RequestID(ids()),
		middleware.CORS(middleware.CORSConfig{Origins: []string{"https://app.example"}}),
	}.Then(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Access-Control-Allow-Origin", "*")
		w.Header().Add(middleware.HeaderRequestID, "handler-id")
		panic("boom")
	}))
	for _, tc := range []struct{ origin, allowed string }{{"https://app.example", "https://app.example"}, {"https://evil.example", ""}} {
		rec := get(h, "/", "Origin", tc.origin)
		require.Equal(t, http.StatusInternalServerError, rec.Code)
		var want []string
		if tc.allowed != "" {
			want = []string{tc.allowed}
		}
		if diff := cmp.Diff(want, rec.Result().Header.Values("Access-Control-Allow-Origin")); diff != "" {
			t.Errorf("origin %s: Access-Control-Allow-Origin (-want +got):\n%s", tc.origin, diff)
		}
		if ids := rec.Result().Header.Values(middleware.HeaderRequestID); len(ids) != 1 || !strings.HasPrefix(ids[0], "id-") {
			t.Errorf("origin %s: X-Request-Id %q, want the layer's one", tc.origin, ids)
		}
	}
}

// A handler that writes nothing: net/http sends the header after the
// layers have returned, so the layers must have set their fields by then
// (fieldWriter.finish) — the refused origin gets no "*" from the handler.
func TestAnAnswerWrittenByNoOneCarriesTheLayersFields(t *testing.T) {
	h := onion.Chain{
		middleware.RequestID(ids()),
		middleware.CORS(middleware.CORSConfig{Origins: []string{"https://app.example"}}),
	}.Then(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Access-Control-Allow-Origin", "*")
		w.Header().Add(middleware.HeaderRequestID, "handler-id")
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, tc := range []struct{ origin, allowed string }{{"https://app.example", "https://app.example"}, {"https://evil.example", ""}} {
		req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		req.Header.Set("Origin", tc.origin)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		var want []string
		if tc.allowed != "" {
			want = []string{tc.allowed}
		}
		if diff := cmp.Diff(want, resp.Header.Values("Access-Control-Allow-Origin")); diff != "" {
			t.Errorf("origin %s: Access-Control-Allow-Origin (-want +got):\n%s", tc.origin, diff)
		}
		if ids := resp.Header.Values(middleware.HeaderRequestID); len(ids) != 1 || !strings.HasPrefix(ids[0], "id-") {
			t.Errorf("origin %s: X-Request-Id %q, want the layer's one", tc.origin, ids)
		}
	}
}
