package api

import (
	"errors"
	"io"
	"net/http"
)

// errNoBytes is what reading metadataOnly content returns: nothing
// should read it.
var errNoBytes = errors.New("api: metadata only, no content")

type noBytes struct{}

func (noBytes) ReadAt([]byte, int64) (int, error) { return 0, errNoBytes }

// metadataOnly is content of size bytes that has no bytes: enough for
// http.ServeContent to answer a HEAD, a 304 or a 412 (it evaluates the
// preconditions and seeks to learn the size, and reads nothing for
// these), so that they get the same headers and the same precondition
// logic as a GET, without fetching data.
func metadataOnly(size int64) io.ReadSeeker {
	return io.NewSectionReader(noBytes{}, 0, size)
}

// withoutRange returns r without its Range header, for http.ServeContent
// where the range must be ignored. A handler must not change the
// request it was given, so this is a copy.
func withoutRange(r *http.Request) *http.Request {
	r = r.Clone(r.Context())
	r.Header.Del("Range")
	return r
}
