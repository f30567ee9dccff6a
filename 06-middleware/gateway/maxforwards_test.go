package gateway

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
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
