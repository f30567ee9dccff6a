package gateway

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/gocourse/gateway/03-director/rewrite"
)

// The retry rules. A failed attempt is tried again on another backend when
// doing so cannot run the request twice:
//
//   - The connection could not be made (a dial error): the backend never
//     saw the request, so any method is retried, POST included.
//   - The request is idempotent, and failed before any answer: GET, HEAD,
//     OPTIONS, TRACE, PUT and DELETE (RFC 9110, section 9.2.2), or any
//     request with an Idempotency-Key header (or X-Idempotency-Key, which
//     net/http's Transport also honours), by which the client promises
//     that the backend deduplicates it. Running them twice has the effect
//     of running them once.
//
// POST and PATCH that reached a backend are never sent again: the backend
// may have acted on them before it failed.
//
// A request body can be sent twice only if it was kept, or if nothing
// has read it yet. Bodies of known length up to Retry.MaxBodyBytes (64 KiB
// by default) are read into memory before the first attempt; a larger
// body, or one of unknown length (chunked), is streamed, and once any of
// it has gone its request is not retried, whatever its method: memory per
// request stays bounded. An attempt that could not connect read none of
// it, so the stream can still go to another backend.
func retryable(req *http.Request, err error, bodyIntact bool) bool {
	if hasBody(req) && !bodyIntact {
		return false
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return idempotent(req)
}

func idempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return req.Header.Get("Idempotency-Key") != "" || req.Header.Get("X-Idempotency-Key") != ""
}

// errRequestBody is the client's fault: its body ended early or broke.
// It is stage 03's: rewrite reads the body through a reader that marks
// its read errors with it, so most come here marked already.
var errRequestBody = rewrite.ErrRequestBody

// bodyError marks err, a failure to read the client's body, as
// errRequestBody, unless it is marked already: marked twice, the 400 read
// "reading the request body: reading the request body: ...".
func bodyError(err error) error {
	if errors.Is(err, errRequestBody) {
		return err
	}
	return fmt.Errorf("%w: %w", errRequestBody, err)
}

func hasBody(req *http.Request) bool { return req.Body != nil && req.Body != http.NoBody }

// replayable reads req's body into memory when it may be retried: a body
// of known length no longer than limit. It returns nil for no body or one
// too large to keep.
//
// The buffer grows as the body arrives, doubling from keepFirst up to the
// declared length, rather than being allocated at that length up front:
// the length is the client's word, and a client that declares 64 KiB and
// then sends a byte a minute (until body-timeout or read_timeout ends it)
// would hold 64 KiB of the gateway's memory for nothing; a thousand such
// clients, 64 MiB. Now it holds what it has sent, give or take a doubling.
func replayable(req *http.Request, limit int64) ([]byte, error) {
	if !hasBody(req) || req.ContentLength <= 0 || req.ContentLength > limit {
		return nil, nil
	}
	want := req.ContentLength
	body := make([]byte, 0, min(want, keepFirst))
	var err error
	for int64(len(body)) < want && err == nil {
		if len(body) == cap(body) {
			grown := make([]byte, len(body), min(want, 2*int64(cap(body))))
			copy(grown, body)
			body = grown
		}
		var n int
		n, err = req.Body.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
	}
	req.Body.Close()
	switch {
	case int64(len(body)) == want:
		return body, nil
	case err == io.EOF:
		err = io.ErrUnexpectedEOF
	}
	return nil, bodyError(err)
}

// keepFirst is the buffer a kept body starts with (see replayable).
const keepFirst = 4 << 10
