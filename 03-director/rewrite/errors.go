package rewrite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// ErrNoTarget is wrapped by a Picker that has no backend for a request.
var ErrNoTarget = errors.New("no backend available")

// ErrRequestBody is wrapped by the error of a request whose body could
// not be read from the client: it broke off (the client closed its
// connection half way through an upload) or was malformed (a chunk length
// that is not hex). The transport fails with that error as if the backend
// had, but the client is at fault: the answer is a 400, not a 502.
var ErrRequestBody = errors.New("reading the request body")

// ErrDotSegment is the error of a request whose path has a "." or ".."
// segment, written out or escaped (%2e%2e, ..%2f): the proxy refuses it
// with 400 before picking a backend. Forwarded, it would reach a backend
// that resolves dot segments outside the route's prefix and the
// target's base path: /api/%2e%2e/secret, the prefix /api stripped and
// joined to /v1, is /v1/../secret, which such a backend serves as
// /secret. A client has no need to send one (RFC 3986, section 5.2.4
// removes them before a request is made).
var ErrDotSegment = errors.New("the path has a dot segment (. or ..), which could reach outside the route")

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
	case errors.As(err, new(*http.MaxBytesError)):
		// The client's body was cut off by an http.MaxBytesReader in
		// front of the proxy: the client's fault, not the backend's.
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrRequestBody), errors.Is(err, ErrDotSegment):
		return http.StatusBadRequest
	case errors.Is(err, context.Canceled):
		return StatusClientClosedRequest
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// ErrorHandler answers a request the proxy could not forward, with a
// status from Status and a body that says what happened, naming the
// backend and quoting the error: what you want to see while learning and
// debugging. It is the ReverseProxy's ErrorHandler, so r is mostly the
// request as it was sent to the backend (r.URL.Host names it); see
// backendHost for the exceptions. Never only log here: a handler that
// writes nothing sends the client an empty 200.
func ErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	handleError(w, r, err, false)
}

// TerseErrorHandler is ErrorHandler for a gateway that faces the
// internet: the client learns the status and what kind of failure it was,
// but not the backend's address nor the error's text, which name hosts
// and ports of the internal network. The log still has everything. A
// proxy with Options.HideBackend uses it by default.
func TerseErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	handleError(w, r, err, true)
}

func handleError(w http.ResponseWriter, r *http.Request, err error, hide bool) {
	code := Status(err)
	slog.Warn("proxy error", "status", code, "method", r.Method, "url", r.URL.String(), "err", err)
	if code == StatusClientClosedRequest {
		w.WriteHeader(code) // the client is gone: nothing to explain
		return
	}
	http.Error(w, errorMessage(code, backendHost(r, err), err, hide), code)
}

// backendHost names the backend r was meant for, or returns "" when none
// was picked. It does not trust r.URL.Host alone: when the Picker fails,
// and when ReverseProxy refuses a request before sending it (a client's
// Upgrade header naming an invalid protocol), r is the client's request,
// and its URL.Host is what the client wrote in an absolute-form request
// line (GET http://internal-db:5432/ HTTP/1.1), not a backend.
func backendHost(r *http.Request, err error) string {
	if errors.As(err, new(pickError)) {
		return ""
	}
	if target, ok := r.Context().Value(targetKey{}).(*url.URL); ok {
		return target.Host // put there after the pick, or by New's error answer
	}
	return r.URL.Host // another ReverseProxy (a Director's): the outgoing request
}

// errorMessage says what went wrong: with hide, only what kind of failure
// it was; without, also which backend (host, from backendHost: empty when
// none was picked) and the error itself.
func errorMessage(code int, host string, err error, hide bool) string {
	backend := "the backend"
	if host != "" && !hide {
		backend += " " + host
	}
	var op *net.OpError
	var tooLarge *http.MaxBytesError
	var msg string
	switch {
	case code == http.StatusServiceUnavailable && hide:
		return "service unavailable: no backend can take the request"
	case code == http.StatusServiceUnavailable:
		return fmt.Sprintf("service unavailable: %v", err) // ErrNoTarget's text says it
	case errors.As(err, &tooLarge):
		// No backend is at fault, and the error's text names one.
		return fmt.Sprintf("content too large: the limit is %d bytes", tooLarge.Limit)
	case errors.Is(err, ErrDotSegment):
		// The client's path, refused before any backend was picked.
		return "bad request: " + err.Error()
	case code == http.StatusBadRequest && hide:
		return "bad request: the request body could not be read"
	case code == http.StatusBadRequest:
		// The client's fault: no backend is named, so only the body's own
		// error is quoted, not the transport's words around it.
		var body bodyError
		if errors.As(err, &body) {
			err = body.err
		}
		return fmt.Sprintf("bad request: the request body could not be read: %v", err)
	case host == "":
		// The Picker failed: no backend was chosen, so none can be named.
		msg = fmt.Sprintf("%s: no backend was picked", strings.ToLower(http.StatusText(code)))
	case code == http.StatusGatewayTimeout:
		msg = "gateway timeout: " + backend + " did not answer in time"
	case errors.As(err, &op) && op.Op == "dial":
		msg = "bad gateway: " + backend + " is unreachable"
	default:
		msg = "bad gateway: " + backend + " failed"
	}
	if hide {
		return msg
	}
	return fmt.Sprintf("%s: %v", msg, err)
}
