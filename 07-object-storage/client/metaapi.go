package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/gocourse/gateway/07-object-storage/meta"
)

// Errors of the metadata server's API.
var (
	// ErrBadRequest is a request the metadata server refused as malformed.
	ErrBadRequest = errors.New("bad request")
	// ErrMetaUnreachable is a request that got no answer from the
	// metadata server: it is down, or the network to it is.
	ErrMetaUnreachable = errors.New("metadata server unreachable")
	// ErrNotMetadataServer is an answer from a server that does not
	// serve the metadata server's paths: Options.MetaURL names another
	// server (an API server's or a data server's address, a port
	// mistyped), or one of another version.
	ErrNotMetadataServer = errors.New("the metadata URL names a server that is not the metadata server")
	// ErrBadAnswer is an answer from the metadata server that the client
	// cannot use: not JSON, a version of negative size or with a
	// malformed hash, a size that is not its blob's. The metadata server
	// failed, not the caller, nor a data server.
	ErrBadAnswer = errors.New("metadata server: bad answer")
)

// muxNotFound is net/http's answer to a path no handler serves. The
// metadata server's own 404s name the key, version or blob not found.
const muxNotFound = "404 page not found"

// StatusError is an error answer from a server. It unwraps to the
// matching sentinel error, so callers write errors.Is(err, meta.ErrNotFound).
type StatusError struct {
	Code    int
	Message string
	// DeleteMarker is a 404 that says (meta.DeleteMarkerHeader) the
	// version asked for is a delete marker: the error matches
	// meta.ErrDeleted too.
	DeleteMarker bool
}

func (e *StatusError) Error() string {
	msg := e.text()
	if e.Unwrap() == ErrNotMetadataServer {
		msg += " (" + ErrNotMetadataServer.Error() + ")" // its Message says nothing of that
	}
	return msg
}

// text is the answer's status and words.
func (e *StatusError) text() string {
	return fmt.Sprintf("%s: %s", http.StatusText(e.Code), e.Message)
}

func (e *StatusError) Unwrap() error {
	switch e.Code {
	case http.StatusBadRequest:
		return ErrBadRequest
	case http.StatusNotFound:
		if e.Message == muxNotFound {
			// Not "no such object": nothing at that address serves the
			// path asked for (TestAnotherServerIsNotTheMetadataServer).
			return ErrNotMetadataServer
		}
		if e.DeleteMarker {
			return errDeleted{}
		}
		return meta.ErrNotFound
	case http.StatusServiceUnavailable:
		return meta.ErrTooFewReplicas
	case http.StatusRequestEntityTooLarge:
		return ErrTooLarge
	case http.StatusInsufficientStorage:
		return meta.ErrNoRoom
	}
	return nil
}

// call sends a JSON request to the metadata server and decodes its
// answer into out (if not nil).
func (c *Client) call(ctx context.Context, method, path string, query url.Values, in, out any) error {
	u := c.opt.MetaURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMetaUnreachable, err)
	}
	defer closeDrained(resp.Body)
	if resp.StatusCode/100 != 2 {
		return statusError(resp)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%w: %w", ErrBadAnswer, err)
	}
	return nil
}

// closeDrained reads what is left of an answer, up to a bound, and
// closes it. A JSON decoder stops at the end of the value, before the
// encoder's newline and, in a chunked answer (the metadata server's
// answers over 2 KiB: listings, version pages, chunk lists), before the
// last chunk; an answer closed before its end closes its connection
// instead of returning it to the pool, so every such call would dial
// anew. The bound keeps a server that sends on from holding the caller.
func closeDrained(body io.ReadCloser) {
	io.Copy(io.Discard, io.LimitReader(body, 4096))
	body.Close()
}

func statusError(resp *http.Response) error {
	e := readStatus(resp)
	return &e
}

func readStatus(resp *http.Response) StatusError {
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return StatusError{
		Code:         resp.StatusCode,
		Message:      strings.TrimSpace(string(msg)),
		DeleteMarker: resp.Header.Get(meta.DeleteMarkerHeader) == "true",
	}
}

// errDeleted is the metadata server's 404 for a delete marker: like
// every 404 of it, it matches meta.ErrNotFound (the object is not there
// to read), and meta.ErrDeleted too, for a caller that says why.
type errDeleted struct{}

func (errDeleted) Error() string { return meta.ErrDeleted.Error() }
func (errDeleted) Is(target error) bool {
	return target == meta.ErrDeleted || target == meta.ErrNotFound
}

// errNoCopy is a data server's 404: it holds no copy of the blob.
var errNoCopy = errors.New("no copy of the blob on this data server")

// dataError is an error answer from a data server. Unlike a StatusError
// it does not unwrap to the metadata server's sentinels: a data server's
// 404 is a copy missing there (errNoCopy), not an object that does not
// exist, and its 400 or 503 is neither the caller's fault nor the store
// refusing a write. Only its 413 means what the metadata server's does,
// and its 507 is meta.ErrNoRoom.
type dataError struct{ StatusError }

// Error is the answer's status and words. StatusError's would add, to
// net/http's own 404, that the metadata URL is wrong: here it is the
// data server's address that names another server.
func (e *dataError) Error() string { return e.text() }

func (e *dataError) Unwrap() error {
	switch e.Code {
	case http.StatusNotFound:
		return errNoCopy
	case http.StatusRequestEntityTooLarge:
		return ErrTooLarge
	case http.StatusInsufficientStorage:
		return meta.ErrNoRoom
	}
	return nil
}

func dataStatusError(resp *http.Response) error {
	return &dataError{readStatus(resp)}
}
