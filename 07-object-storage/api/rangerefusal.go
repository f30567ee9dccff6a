package api

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// rangeRefusal words http.ServeContent's 416 for a client, as notFound
// does a 404: net/http's own words, "invalid range: failed to overlap"
// and "invalid range", say neither which range nor what was wrong with
// it. ServeContent sends Content-Range (bytes */size) with the first, a
// range that selects no byte (RFC 9110, section 15.5.17), and not with
// the second, a header that does not parse or a range that ends before
// it starts ("5-2": invalid, section 14.1.1): that tells them apart.
// Only a GET with a Range is wrapped, so every other answer is written
// as ServeContent writes it.
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
	if spec, ok := backwards(w.header, w.size); ok {
		msg = fmt.Sprintf("bad Range: %.100q: %.50s ends before it starts", w.header, spec)
	}
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

// backwards is the first range of a Range header that ends before it
// starts, such as "5-2", among those ServeContent reads the end of: one
// that starts past the end of the object's size bytes is skipped whole.
func backwards(header string, size int64) (string, bool) {
	_, set, _ := strings.Cut(header, "=")
	for spec := range strings.SplitSeq(set, ",") {
		start, end, _ := strings.Cut(spec, "-")
		first, err := strconv.ParseInt(strings.TrimSpace(start), 10, 64)
		last, err2 := strconv.ParseInt(strings.TrimSpace(end), 10, 64)
		if err == nil && err2 == nil && 0 <= last && last < first && first < size {
			return strings.TrimSpace(spec), true
		}
	}
	return "", false
}
