package proxy

import (
	"net"
	"net/http"
	"time"
)

// NewTransport returns an http.Transport tuned for a proxy: one shared by
// every request to a pool of backends.
//
// http.DefaultTransport keeps at most 2 idle connections per host
// (http.DefaultMaxIdleConnsPerHost). A proxy sends many concurrent requests
// to the same few hosts, so under load most connections are closed after a
// single request and new ones dialled: connection churn, and in time a
// machine out of ephemeral ports (sockets pile up in TIME_WAIT).
//
// It sets no ResponseHeaderTimeout, because how long a backend may think
// depends on the backend: set one on the Transport it returns. Without
// one, a backend that accepts a request and never answers holds it until
// the client gives up (stage 03's -timeout sets one, and answers 504).
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy: nil, // a gateway talks to its backends directly, whatever HTTP_PROXY says
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
		ForceAttemptHTTP2:     true,
	}
}
