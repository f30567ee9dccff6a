package api

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// badRequest words a 400 of a PUT for a client, from what it sent, as
// notFound does a 404. The error comes through the client, which wraps
// it for a Go caller ("put \"k\": content hashes to 2d711642b726, the
// caller said 000000000000: ..."): the key is in the client's URL
// already, "the caller" is this server, and a curl user named no
// X-Content-SHA256 of 12 digits. A bad key or query keeps its own words,
// which say what is wrong and nothing of the client.
func badRequest(r *http.Request, err error) string {
	var body *bodyError
	switch {
	case errors.Is(err, blob.ErrDigestMismatch) && r.Header.Get(DigestHeader) != "":
		// Without the header, the API server hashed the body itself: a
		// data server that got other bytes (damaged on the way) says so
		// in the error's own words, which name no header.
		return "content does not match its " + DigestHeader + ": " + r.Header.Get(DigestHeader)
	case errors.Is(err, blob.ErrBadHash):
		if _, perr := blob.ParseHash(r.Header.Get(DigestHeader)); perr != nil {
			return "bad " + DigestHeader + ": " + perr.Error()
		}
	case errors.Is(err, meta.ErrBadContentType):
		if verr := meta.ValidateContentType(r.Header.Get("Content-Type")); verr != nil {
			// Its detail may be package mime's ("mime: invalid media
			// parameter"): the words without the package's name.
			return strings.Replace(verr.Error(), "mime: ", "", 1)
		}
	case errors.As(err, &body):
		if errors.Is(body.err, io.ErrUnexpectedEOF) {
			return "request body cut short: it ended before its Content-Length, or before its last chunk"
		}
		return body.Error()
	}
	return err.Error()
}

// bodyError marks a PUT's body that could not be read to its end (see
// errBody), and keeps what the reader said, for badRequest.
type bodyError struct{ err error }

func (e *bodyError) Error() string   { return errBody.Error() + ": " + e.err.Error() }
func (e *bodyError) Unwrap() []error { return []error{errBody, e.err} }
