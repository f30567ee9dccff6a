package gateway

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestTraceIsNotForwarded: a backend answers TRACE by echoing the request
// it received (RFC 9110, section 9.3.8), so forwarded, TRACE showed a
// page the Cookie and Authorization the browser attached and the fields
// the gateway added ("cross-site tracing"). The gateway implements TRACE
// (and TRACK, IIS's name for it) for no route: a 501 before routing, and
// no backend sees the request.
func TestTraceIsNotForwarded(t *testing.T) {
	var hits atomic.Int32
	echoing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "message/http")
		r.Header.Write(w) // what an origin that implements TRACE sends back
	}))
	t.Cleanup(echoing.Close)
	_, gw, _ := start(t, fill("pools: {a: {targets: [\"${A}\"]}}\nroutes: [{pool: a}]\n", []*httptest.Server{echoing}))
	secrets := http.Header{"Cookie": {"session=s3cret"}, "Authorization": {"Bearer t0ken"}, "Max-Forwards": {"5"}}
	for _, method := range []string{http.MethodTrace, "TRACK"} {
		code, body := do(t, http.DefaultClient, method, gw.URL+"/anything", secrets, "")
		assert.Equal(t, http.StatusNotImplemented, code, "%s: %s", method, body)
		assert.Contains(t, body, "not implemented: "+method, method)
		assert.NotContains(t, body, "s3cret", method)
		assert.NotContains(t, body, "t0ken", method)
	}
	assert.Equal(t, int32(0), hits.Load(), "no TRACE reaches a backend")
}
