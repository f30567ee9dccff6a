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
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/06-middleware/middleware/upgradetest"
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

// TestUpgradedResponseHasOneOfEachField: for a 101 Switching Protocols,
// httputil.ReverseProxy hijacks the connection, copies its upstream's
// fields into the header and writes it itself: WriteHeader never runs.
// The 101 still carries the layers' values, one of each, and no
// Access-Control-Allow-Origin for an origin the layer refuses; and the
// hijack reaches the connection through every layer of the default stack
// (and BodyTimeout), in both onions.
func TestUpgradedResponseHasOneOfEachField(t *testing.T) {
	upstream := upgradetest.Upstream(t)
	target, err := url.Parse(upstream.URL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	stack := append(middleware.Default(middleware.Options{
		Logger:      slog.New(slog.DiscardHandler),
		NewID:       ids(),
		Metrics:     middleware.NewMetrics(prometheus.NewRegistry()),
		CORS:        &middleware.CORSConfig{Origins: []string{"https://app.example"}},
		RateLimiter: middleware.NewRateLimiter(middleware.RateLimit{Rate: rate.Inf}),
		MaxBody:     1 << 20,
		Timeout:     time.Hour,
		Breakers:    middleware.NewBreakers(middleware.BreakerConfig{}),
	}), middleware.Layer{Name: "body-timeout", Middleware: middleware.BodyTimeout(time.Hour)})
	sliced := onion.NewRouter(stack.Handlers()...)
	sliced.Handle("/", onion.FromHandler(proxy))

	for _, onions := range []struct {
		name string
		h    http.Handler
	}{{"chained", stack.Chain().Then(proxy)}, {"sliced", sliced}} {
		srv := httptest.NewServer(onions.h)
		defer srv.Close()
		for _, tc := range []struct{ origin, allowed string }{
			{"https://app.example", "https://app.example"},
			{"https://evil.example", ""}, // the layer's list decides, not the upstream's "*"
		} {
			got := upgradetest.Upgrade(t, srv, tc.origin)
			var want []string
			if tc.allowed != "" {
				want = []string{tc.allowed}
			}
			if diff := cmp.Diff(want, got.Values("Access-Control-Allow-Origin")); diff != "" {
				t.Errorf("%s, origin %s: Access-Control-Allow-Origin (-want +got):\n%s", onions.name, tc.origin, diff)
			}
			if diff := cmp.Diff([]string{"client-id"}, got.Values(middleware.HeaderRequestID)); diff != "" {
				t.Errorf("%s, origin %s: X-Request-Id (-want +got):\n%s", onions.name, tc.origin, diff)
			}
		}
	}
}

// TestAClientCannotNameTheRequestIDHopByHop: a proxy removes the fields a
// request's Connection header names before forwarding it (they are for
// the one hop), so "Connection: X-Request-Id" took the gateway's id off
// the upstream's request, and the upstream's logs no longer matched the
// gateway's. The layer takes its field's name out of Connection.
func TestAClientCannotNameTheRequestIDHopByHop(t *testing.T) {
	got := make(chan []string, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- append(r.Header.Values(middleware.HeaderRequestID), r.Header.Values("X-Hop")...)
	}))
	defer upstream.Close()
	target, err := url.Parse(upstream.URL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(middleware.RequestID(ids())(proxy))
	defer srv.Close()
	for _, connection := range []string{"X-Request-Id", "keep-alive, x-request-id", " X-REQUEST-ID ,close", "x-request-id, X-Hop"} {
		req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		req.Header.Set("Connection", connection)
		req.Header.Set(middleware.HeaderRequestID, "client-id")
		if strings.Contains(connection, "X-Hop") {
			req.Header.Set("X-Hop", "for one hop") // Connection names it: dropped
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, []string{"client-id"}, <-got, "Connection: %s (the other names it gives still apply)", connection)
	}
}
