package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// opError is a command that failed: what it was doing, and why.
type opError struct {
	what     string // `get "greeting.txt"`
	version  uint64 // -version, 0 if none
	deleting bool   // rm: a delete marker is the key deleted already
	err      error
}

func (e *opError) Error() string { return e.what + ": " + e.err.Error() }
func (e *opError) Unwrap() error { return e.err }

// explain words err as one line for stderr: the command, its key and the
// reason, told apart by errors.Is on the client's and meta's errors.
func (t *tool) explain(ctx context.Context, err error) string {
	var op *opError
	if !errors.As(err, &op) {
		return oneLine(err)
	}
	return op.what + ": " + t.reason(ctx, op)
}

func (t *tool) reason(ctx context.Context, op *opError) string {
	err := op.err
	other := answeredByAnother(err)
	switch {
	case ctx.Err() != nil:
		return "interrupted"
	case errors.Is(err, client.ErrMetaUnreachable):
		msg := "metadata server unreachable at " + t.metaURL
		if ne := (*net.OpError)(nil); errors.As(err, &ne) {
			msg += " (" + ne.Error() + ")"
		}
		return msg
	case other != nil:
		return fmt.Sprintf("%s is not the metadata server: it answered %d %s (%q); -meta wants the URL printed after \"metadata server on\"",
			t.metaURL, other.Code, http.StatusText(other.Code), other.Message)
	case errors.Is(err, meta.ErrDeleted) && op.version != 0:
		// The metadata server marks the 404 of a delete marker
		// (meta.DeleteMarkerHeader), and the client's error says so.
		return fmt.Sprintf("version %d is a delete marker", op.version)
	case errors.Is(err, meta.ErrDeleted) && op.deleting:
		// rm of a key whose latest version is a delete marker adds no
		// second one; exit status 1 still, as for rm of no such key,
		// since the command did nothing.
		return "deleted already: its latest version is a delete marker (versions lists the older ones)"
	case errors.Is(err, meta.ErrDeleted):
		// The key has versions (versions lists them, and get -version
		// reads them): "no such object" would send the user looking for
		// a key that is there.
		return "deleted: its latest version is a delete marker (versions lists the older ones)"
	case errors.Is(err, meta.ErrNotFound) && op.version != 0:
		// Of a key with no versions at all too, as the API server words
		// it: the metadata server's 404 does not tell the two apart, and
		// a second request to ask would cost a round trip, and could see
		// the key after another client's PUT or DELETE.
		return fmt.Sprintf("no version %d", op.version)
	case errors.Is(err, meta.ErrNotFound):
		return "no such object"
	case errors.Is(err, client.ErrNoReplica):
		return "no data server could serve a verified copy (" + replicaErrors(err) + ")"
	}
	// The client's own errors often start with what the command was
	// doing: say it once.
	msg := strings.TrimPrefix(oneLine(err), op.what+": ")
	switch {
	case errors.Is(err, meta.ErrNoRoom):
		// Every upload that failed was refused for want of room (507):
		// say so first, not at the end of a long line.
		msg = "nothing stored: too few data servers have room for it (" + msg + ")"
	case errors.Is(err, meta.ErrTooFewReplicas):
		msg = "nothing stored: " + msg
	}
	return msg
}

// answeredByAnother returns err's answer if it is one the metadata server
// never gives to the tool's requests, so -meta names another server: the
// gateway asks for an API key (401, 403), and an API server or a data
// server does not serve the metadata server's paths (405, or a 404 with
// net/http's own "404 page not found", where the metadata server's 404
// names the key). Read as meta.ErrNotFound, such a 404 would be "no such
// object", which sends the learner looking for a missing key.
func answeredByAnother(err error) *client.StatusError {
	var se *client.StatusError
	if !errors.As(err, &se) {
		return nil
	}
	switch {
	case se.Code == http.StatusUnauthorized, se.Code == http.StatusForbidden, se.Code == http.StatusMethodNotAllowed,
		se.Code == http.StatusNotFound && se.Message == "404 page not found":
		return se
	}
	return nil
}

// replicaErrors lists what each data server did wrong, from the
// errors.Join that carries client.ErrNoReplica.
func replicaErrors(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		joined, ok := e.(interface{ Unwrap() []error })
		if !ok {
			continue
		}
		var parts []string
		for _, p := range joined.Unwrap() {
			if p != client.ErrNoReplica {
				parts = append(parts, oneLine(p))
			}
		}
		if len(parts) == 0 {
			// Every copy was reported bad or lost, and dropped.
			return "the metadata server lists no copy"
		}
		return strings.Join(parts, "; ")
	}
	return oneLine(err)
}

// oneLine is err's message on one line: a joined error's parts are
// separated by "; " instead of newlines.
func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}
