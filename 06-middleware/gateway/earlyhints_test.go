package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A backend's 103 Early Hints goes to the client at once, before the pool
// has an answer, and it is not the answer: a client takes any number of
// 1xx before the final one (RFC 9110, section 15.2). So a GET whose first
// backend sent its hints and then dropped the connection is still retried
// on another backend, and the client gets the first one's hints and the
// second one's answer.
func TestARetryAfterEarlyHintsGivesTheClientBoth(t *testing.T) {
	hinted := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints) // sent at once
		c, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			c.Close() // and no answer
		}
	}))
	t.Cleanup(hinted.Close)
	srvs := backends(t, 2)
	srvs[0] = hinted
	_, gw, _ := start(t, fill(`
pools: {p: {balancer: roundrobin, targets: ["${A}", "${B}"]}}
routes: [{pool: p}]
`, srvs)) // ${A} is the hinting backend, round robin's first pick

	var hints []textproto.MIMEHeader
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		if code == http.StatusEarlyHints {
			hints = append(hints, h)
		}
		return nil
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), "GET", gw.URL+"/", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Equal(t, "B", resp.Header.Get("X-Backend"), "the answer is the second backend's")
	if assert.Len(t, hints, 1, "the first backend's 103 reached the client") {
		assert.Equal(t, "</a.css>; rel=preload", hints[0].Get("Link"))
	}
	assert.Empty(t, resp.Header.Get("Link"), "the hints are not the answer's header")
}

// A backend's 1xx reaches the client without its hop-by-hop fields
// (RFC 9110, section 7.6.1): Connection, the fields it names, Keep-Alive.
// httputil.ReverseProxy forwards a 1xx as its transport hands it over, so
// the fields a backend meant for the gateway alone went on to the client.
// Both transports of a pool: a GET goes by the direct path, a streamed
// (chunked) body by http.Transport.
func TestTheHopByHopFieldsOfA1xxDoNotReachTheClient(t *testing.T) {
	hinted := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Link", "</a.css>; rel=preload")
		h.Set("Connection", "X-Internal")
		h.Set("X-Internal", "for the gateway only")
		h.Set("Keep-Alive", "timeout=5")
		w.WriteHeader(http.StatusEarlyHints)
		clear(h)
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	}))
	t.Cleanup(hinted.Close)
	_, gw, _ := start(t, fill(`
pools: {p: {balancer: roundrobin, targets: ["${A}"]}}
routes: [{pool: p}]
`, []*httptest.Server{hinted}))

	for _, tc := range []struct {
		name   string
		method string
		body   io.Reader
	}{
		{"direct path", "GET", nil},
		{"http.Transport", "POST", io.MultiReader(strings.NewReader("streamed"))}, // no length: chunked
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hints []textproto.MIMEHeader
			trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
				hints = append(hints, h)
				return nil
			}}
			req, err := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), tc.method, gw.URL+"/", tc.body)
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
			require.Len(t, hints, 1)
			want := textproto.MIMEHeader{"Link": {"</a.css>; rel=preload"}}
			if diff := cmp.Diff(want, hints[0]); diff != "" {
				t.Errorf("the 103 the client got (-want +got):\n%s", diff)
			}
		})
	}
}
