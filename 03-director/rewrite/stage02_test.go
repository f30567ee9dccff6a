package rewrite

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	stage02 "github.com/gocourse/gateway/02-single-proxy/proxytest"
)

// The checks stage 02 set for its proxy still hold for this one.

func TestStage02ErrorHandlerChecks(t *testing.T) {
	stage02.CheckErrorHandler(t, ErrorHandler)
}

func TestStage02BackendHostChecks(t *testing.T) {
	stage02.CheckBackendHost(t, func(target *url.URL) http.Handler {
		return New(target, Options{XForwarded: true})
	})
}

// Options.Transport nil means a new proxy.NewTransport(), which passes
// stage 02's Transport check; a ReverseProxy left with a nil Transport
// would use http.DefaultTransport, which fails it.
func TestStage02TransportCheckOnTheDefault(t *testing.T) {
	tr := New(&url.URL{Scheme: "http", Host: "127.0.0.1:9001"}, Options{}).reverse.Transport
	require.NotNil(t, tr, "New left the Transport nil: the proxy would use http.DefaultTransport")
	stage02.CheckTransport(t, func() http.RoundTripper { return tr })
}
