package api

import (
	"fmt"
	"io"
	"net/http"
)

// rangeRefusal words http.ServeContent's 416 for a client, as notFound
// does a 404: net/http's own words, "invalid range: failed to overlap"
// and "invalid range", say neither which range nor what was wrong with
// it. ServeContent sends Content-Range (bytes */size) with the first, a
// range that selects no byte (RFC 9110, section 15.5.17), and not with
// the second, a header that does not parse: that tells them apart. Only
// a GET with a Range is wrapped, so every other answer is written as
// ServeContent writes it.
type rangeRefusal struct {
	http.ResponseWriter
	header  string // the Range header as the client sent it
	size    int64
	refused bool
}

func (w *rangeRefusal) WriteHeader(code int) {
	if code != http.StatusRequestedRangeNotSatisfiable || w.refused {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.refused = true
	msg := fmt.Sprintf("bad Range: %.100q is not a list of byte ranges", w.header)
	if w.Header().Get("Content-Range") != "" {
		msg = fmt.Sprintf("range not satisfiable: %.100q selects none of the object's %d bytes", w.header, w.size)
	}
	w.ResponseWriter.WriteHeader(code)
	io.WriteString(w.ResponseWriter, msg+"\n")
}

// Write drops what ServeContent writes after a 416: its own words.
func (w *rangeRefusal) Write(p []byte) (int, error) {
	if w.refused {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

func (w *rangeRefusal) Unwrap() http.ResponseWriter { return w.ResponseWriter }
