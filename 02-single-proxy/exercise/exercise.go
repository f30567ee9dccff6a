// Package exercise is where you do chapter 02's exercises. Each function
// below is a starting point that compiles but is not done yet; the tests
// that check it fail until it is:
//
//	go test -tags exercise ./02-single-proxy/exercise
//
// The checks live in package proxytest, and the course's own code passes
// the same checks in its ordinary tests, so each one can be passed.
package exercise

import (
	"log"
	"net/http"
	"net/url"

	"github.com/gocourse/gateway/02-single-proxy/proxy"
)

// Exercise 1: an error page.
//
// ErrorHandler is called by a ReverseProxy when it could not get an answer
// from the backend. Make it answer 502 Bad Gateway with a body that names
// the backend (r.URL.Host) and a Content-Type. Plain text or JSON, your
// choice. Not every error names the backend (a backend that hangs up gives
// a bare EOF), so take its name from the request.
// Check: go test -tags exercise ./02-single-proxy/exercise -run ErrorHandler
func ErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	log.Printf("proxy error: %v", err) // TODO: this only logs, so the client gets an empty 200 OK
}

// Exercise 2: a Transport that keeps its connections.
//
// Return a Transport that, under 32 concurrent requests to one backend,
// keeps every connection for the next request instead of closing it.
// Check: go test -tags exercise ./02-single-proxy/exercise -run Transport
func NewTransport() *http.Transport {
	return http.DefaultTransport.(*http.Transport).Clone() // TODO: keeps 2 idle connections per host
}

// Exercise 3: the backend's own host name.
//
// Return a proxy to target that sends target's host (target.Host) in the
// Host header, instead of the one the client sent to the proxy, and still
// forwards path, query and X-Forwarded-For.
// Check: go test -tags exercise ./02-single-proxy/exercise -run Host
func NewHostRewriting(target *url.URL) http.Handler {
	return proxy.New(target, nil) // TODO: passes the client's Host through
}
