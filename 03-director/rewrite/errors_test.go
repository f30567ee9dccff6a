package rewrite

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/02-single-proxy/proxy"
)

// TestErrorsAreExplainedAndTheGatewayKeepsServing sends a request to a
// backend that is down, one to a backend that is too slow, then one to a
// healthy backend, all through one server.
func TestErrorsAreExplainedAndTheGatewayKeepsServing(t *testing.T) {
	slow := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers; gives up when the proxy does
	}))
	dead := deadURL(t)
	transport := proxy.NewTransport()
	transport.ResponseHeaderTimeout = 50 * time.Millisecond
	mux := http.NewServeMux()
	mux.Handle("/dead/", New(dead, Options{StripPrefix: "/dead", Transport: transport}))
	mux.Handle("/slow/", New(slow, Options{StripPrefix: "/slow", Transport: transport}))
	mux.Handle("/live/", New(startBackend(t, nil), Options{StripPrefix: "/live", Transport: transport}))
	p := startProxy(t, mux)

	resp, body := get(t, p+"/dead/", nil, "")
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.Contains(t, body, "bad gateway: the backend "+dead.Host+" is unreachable: dial tcp "+dead.Host)

	resp, body = get(t, p+"/slow/", nil, "")
	assert.Equal(t, http.StatusGatewayTimeout, resp.StatusCode)
	assert.Equal(t, "gateway timeout: the backend "+slow.Host+" did not answer in time: net/http: timeout awaiting response headers\n", body)

	resp, body = get(t, p+"/live/", nil, "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "Hello from backend A\n", body)
}

func TestPickerErrorIs503(t *testing.T) {
	p := startProxy(t, NewPicking(func(*http.Request) (*url.URL, error) {
		return nil, fmt.Errorf("%w: every backend is down", ErrNoTarget)
	}, Options{}))
	resp, body := get(t, p+"/", nil, "")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "service unavailable: no backend available: every backend is down\n", body)
}

func TestStatus(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	dialTimeout := &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}
	for _, tc := range []struct {
		err  error
		want int
	}{
		{dial, http.StatusBadGateway},
		{dialTimeout, http.StatusGatewayTimeout},
		{errors.New("malformed HTTP response"), http.StatusBadGateway},
		{context.DeadlineExceeded, http.StatusGatewayTimeout},
		{fmt.Errorf("picking: %w", ErrNoTarget), http.StatusServiceUnavailable},
		{context.Canceled, StatusClientClosedRequest},
	} {
		assert.Equal(t, tc.want, Status(tc.err), "Status(%v)", tc.err)
	}
}

func TestClientGoneGetsNoPage(t *testing.T) {
	rec := httptest.NewRecorder()
	ErrorHandler(rec, httptest.NewRequest(http.MethodGet, "http://backend/", nil), context.Canceled)
	assert.Equal(t, StatusClientClosedRequest, rec.Code)
	assert.Empty(t, rec.Body.String())
}
