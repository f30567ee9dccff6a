package proxy_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/02-single-proxy/proxytest"
)

// Under concurrent load the default Transport closes most connections
// after one request and dials new ones, while NewTransport keeps them.
//
// proxytest.NewConns makes the count exact rather than a matter of timing:
// each round has 32 requests in flight at once, so 32 connections, and
// rounds do not overlap. Between rounds the default Transport keeps 2 idle
// connections (http.DefaultMaxIdleConnsPerHost) and closes 30, so each
// later round dials 30 new ones; NewTransport keeps all 32.
func TestDefaultTransportChurnsNewTransportReuses(t *testing.T) {
	const concurrency, rounds = 32, 5
	// What a ReverseProxy with a nil Transport uses: http.DefaultTransport
	// (a copy, so that other tests' connections do not count).
	defaults := proxytest.NewConns(t, http.DefaultTransport.(*http.Transport).Clone(), concurrency, rounds)
	tuned := proxytest.NewConns(t, proxy.NewTransport(), concurrency, rounds)
	t.Logf("%d rounds of %d concurrent requests: default Transport opened %d connections, NewTransport %d",
		rounds, concurrency, defaults, tuned)

	assert.GreaterOrEqual(t, defaults, concurrency+(rounds-1)*(concurrency-http.DefaultMaxIdleConnsPerHost))
	assert.LessOrEqual(t, tuned, concurrency)
}

// NewTransport passes the check the chapter's second exercise uses.
func TestNewTransportPassesTheCheck(t *testing.T) {
	proxytest.CheckTransport(t, func() http.RoundTripper { return proxy.NewTransport() })
}

// NewTransport talks to the backends directly, whatever HTTP_PROXY says:
// its Proxy is nil. (http.DefaultTransport's is http.ProxyFromEnvironment,
// which would send every request for a non-loopback backend through the
// proxy the environment names.)
func TestNewTransportIgnoresProxyEnvironment(t *testing.T) {
	assert.Nil(t, proxy.NewTransport().Proxy, "NewTransport's Proxy must be nil, so that HTTP_PROXY is not used")
}

// New given no Transport, as the program calls it, uses NewTransport's
// pool, not the http.DefaultTransport a ReverseProxy would fall back to.
func TestNewWithoutATransportPassesTheCheck(t *testing.T) {
	proxytest.CheckTransport(t, func() http.RoundTripper { return nil })
}
