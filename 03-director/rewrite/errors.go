package rewrite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
)

// ErrNoTarget is wrapped by a Picker that has no backend for a request.
var ErrNoTarget = errors.New("no backend available")

// StatusClientClosedRequest is nginx's code for a request whose client
// went away before the answer: nobody reads it, but logs should not call
// it a 502.
const StatusClientClosedRequest = 499

// Status maps an error from forwarding a request to the status code the
// client gets.
func Status(err error) int {
	var ne net.Error
	switch {
	case errors.Is(err, ErrNoTarget):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.Canceled):
		return StatusClientClosedRequest
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// ErrorHandler answers a request the proxy could not forward, with a
// status from Status and a body that says what happened. It is the
// ReverseProxy's ErrorHandler, so r is the request as it was sent to the
// backend (r.URL.Host names it), or as the client sent it when no backend
// was picked. Never only log here: a handler that writes nothing sends
// the client an empty 200.
func ErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	code := Status(err)
	slog.Warn("proxy error", "status", code, "method", r.Method, "url", r.URL.String(), "err", err)
	var msg string
	switch code {
	case StatusClientClosedRequest:
		w.WriteHeader(code) // the client is gone: nothing to explain
		return
	case http.StatusServiceUnavailable:
		msg = fmt.Sprintf("service unavailable: %v", err)
	case http.StatusGatewayTimeout:
		msg = fmt.Sprintf("gateway timeout: the backend %s did not answer in time: %v", r.URL.Host, err)
	default:
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			msg = fmt.Sprintf("bad gateway: the backend %s is unreachable: %v", r.URL.Host, err)
		} else {
			msg = fmt.Sprintf("bad gateway: the backend %s failed: %v", r.URL.Host, err)
		}
	}
	http.Error(w, msg, code)
}
