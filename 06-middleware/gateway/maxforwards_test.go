package gateway

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An OPTIONS with Max-Forwards: 0 is the gateway's to answer (RFC 9110,
// section 7.6.2): an empty 200, and no backend sees it. With 2, it goes
// on with 1. The rule is package rewrite's, which every route's proxy is
// (TRACE, which it also covers, the gateway refuses before routing:
// TestTraceIsNotForwarded).
func TestMaxForwardsIsHonouredForOptions(t *testing.T) {
	var hits atomic.Int32
	var seen atomic.Value // the Max-Forwards of the last OPTIONS a backend got
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			hits.Add(1)
			seen.Store(r.Header.Get("Max-Forwards"))
		}
		w.Header().Set("Allow", "GET, OPTIONS")
	}))
	t.Cleanup(counting.Close)
	_, gw, _ := start(t, fill("pools: {a: {targets: [\"${A}\"]}}\nroutes: [{pool: a}]\n", []*httptest.Server{counting}))

	r := send(t, http.DefaultClient, http.MethodOptions, gw.URL+"/anything", http.Header{"Max-Forwards": {"0"}}, "")
	assert.Equal(t, http.StatusOK, r.code, r.body)
	assert.Empty(t, r.body)
	assert.Zero(t, hits.Load(), "OPTIONS with Max-Forwards: 0 reached a backend")

	r = send(t, http.DefaultClient, http.MethodOptions, gw.URL+"/anything", http.Header{"Max-Forwards": {"2"}}, "")
	assert.Equal(t, http.StatusOK, r.code, r.body)
	assert.Equal(t, int32(1), hits.Load(), "OPTIONS with Max-Forwards: 2 reached the backend")
	assert.Equal(t, "1", seen.Load(), "the Max-Forwards the backend got")
}

// A retry does not take a second hop off Max-Forwards: the request goes
// through the route's proxy once, whatever the tries, and each backend it
// reaches is one hop away. The first backend takes the OPTIONS and
// resets the connection, the second gets it, retried (OPTIONS is
// idempotent), with 2 as the first did, not 1.
func TestMaxForwardsIsDecrementedOnceAcrossRetries(t *testing.T) {
	bad, badHits := resetter(t, nil)
	var seen atomic.Value
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Get("Max-Forwards"))
	}))
	t.Cleanup(good.Close)
	gw := retryGateway(t, bad.URL, good.URL)

	r := send(t, http.DefaultClient, http.MethodOptions, gw.URL+"/anything", http.Header{"Max-Forwards": {"3"}}, "")
	assert.Equal(t, http.StatusOK, r.code, r.body)
	assert.EqualValues(t, 1, badHits.Load(), "the first try reached the first backend")
	assert.Equal(t, "2", seen.Load(), "the Max-Forwards the retried request brought the second backend")
}

// The Max-Forwards rule is the route's proxy's, innermost in its onion,
// so the route's layers see the OPTIONS first: auth refuses one without
// credentials whatever its count (a 401, not the gateway's empty 200),
// and a CORS preflight with Max-Forwards: 0 is still answered by cors.
func TestMaxForwardsIsAnsweredInsideTheRoutesLayers(t *testing.T) {
	var hits atomic.Int32
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(counting.Close)
	_, gw, _ := start(t, fill(`
pools: {a: {targets: ["${A}"]}}
routes:
  - {path: /private, pool: a, middleware: [{name: auth, api_keys: [{id: ann, key: k1}]}]}
  - {path: /api, pool: a, middleware: [{name: cors, origins: ["https://app.example"]}]}
`, []*httptest.Server{counting}))

	r := send(t, http.DefaultClient, http.MethodOptions, gw.URL+"/private/x", http.Header{"Max-Forwards": {"0"}}, "")
	assert.Equal(t, http.StatusUnauthorized, r.code, "auth runs before the proxy's Max-Forwards answer: %s", r.body)
	r = send(t, http.DefaultClient, http.MethodOptions, gw.URL+"/private/x", http.Header{"Max-Forwards": {"0"}, "X-Api-Key": {"k1"}}, "")
	assert.Equal(t, http.StatusOK, r.code, "past auth, the proxy answers it: %s", r.body)

	req, err := http.NewRequest(http.MethodOptions, gw.URL+"/api/x", nil)
	require.NoError(t, err)
	req.Header = http.Header{"Max-Forwards": {"0"}, "Origin": {"https://app.example"}, "Access-Control-Request-Method": {"PUT"}}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode, "cors answers the preflight")
	assert.Equal(t, "https://app.example", resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Zero(t, hits.Load(), "no backend saw any of them")
}
