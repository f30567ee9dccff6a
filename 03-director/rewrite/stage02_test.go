package rewrite

import (
	"net/http"
	"net/url"
	"testing"

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
