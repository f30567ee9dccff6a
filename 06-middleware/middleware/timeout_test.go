package middleware_test

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/middleware"
)

const gatewayTimeout = "gateway timeout: the upstream did not answer in time\n"

func TestTimeoutCancelsTheUpstreamAndAnswers504(t *testing.T) {
	cancelled := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // a backend that never answers in time
		close(cancelled)
	}))
	defer upstream.Close()
	target, err := url.Parse(upstream.URL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	gw := httptest.NewServer(middleware.Timeout(50 * time.Millisecond)(proxy))
	defer gw.Close()

	resp, err := http.Get(gw.URL + "/slow")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusGatewayTimeout, resp.StatusCode, "not the proxy's 502")
	assert.Equal(t, gatewayTimeout, string(body))
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream request was not cancelled")
	}
}

func TestTimeoutHandlerThatGivesUpSilently(t *testing.T) {
	h := middleware.Timeout(time.Millisecond)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	rec := get(h, "/")
	assert.Equal(t, http.StatusGatewayTimeout, rec.Code)
	assert.Equal(t, gatewayTimeout, rec.Body.String())
}

func TestTimeoutLetsAFastAnswerThrough(t *testing.T) {
	var deadline time.Time
	h := middleware.Timeout(time.Hour)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deadline, _ = r.Context().Deadline()
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "tea")
	}))
	rec := get(h, "/")
	assert.Equal(t, http.StatusTeapot, rec.Code)
	assert.Equal(t, "tea", rec.Body.String())
	assert.False(t, deadline.IsZero(), "the request's context must carry the deadline")
}
