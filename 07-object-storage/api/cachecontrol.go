package api

import (
	"net/http"
	"strconv"
	"time"
)

// cacheControl is the Cache-Control of an answer (200, 206 or 304) made
// from metadata fresh until freshUntil (client.Object.FreshUntil). Until
// then the client answers lookups of that version from its own cache, so
// a shared cache, such as a gateway's, may reuse the answer for as long
// (s-maxage, RFC 9111, section 5.2.2.10) and serves nothing older than
// the store would: the seconds left, rounded down, never outlive the
// client's TTL. For the latest version, max-age=0 and must-revalidate
// (sections 5.2.2.1 and 5.2.2.2) keep what no-cache asked of a browser's
// cache, which ignores s-maxage: revalidate before every reuse. A version
// named by number says s-maxage only: a browser keeps its heuristic
// freshness, as before; a shared cache, which would otherwise pick its
// own, keeps it no longer than the TTL (a version never changes, but it
// can be pruned). Fresh for less than a second, the answer gets "":
// nothing more than what get sends with every answer.
func cacheControl(latest bool, freshUntil, now time.Time) string {
	n := int64(freshUntil.Sub(now) / time.Second)
	if n < 1 { // the zero time too (a lookup not cached): long past
		return ""
	}
	if latest {
		return "max-age=0, must-revalidate, s-maxage=" + strconv.FormatInt(n, 10)
	}
	return "s-maxage=" + strconv.FormatInt(n, 10)
}

// fresh returns w, set to send Cache-Control (cacheControl) if its answer
// is a 200, a 206 or a 304. Only if it is: a 412 is an answer to the
// request's own precondition, which nobody else should get from a cache
// (and http.ServeContent's 416, like its other errors, sends no
// Cache-Control at all).
func (s *Server) fresh(w http.ResponseWriter, latest bool, freshUntil time.Time) http.ResponseWriter {
	cc := cacheControl(latest, freshUntil, s.Now())
	if cc == "" {
		return w
	}
	return &freshAnswer{ResponseWriter: w, cacheControl: cc}
}

// freshAnswer sets Cache-Control on a successful answer, as its status
// is written.
type freshAnswer struct {
	http.ResponseWriter
	cacheControl string
	wroteHeader  bool
}

func (w *freshAnswer) WriteHeader(code int) {
	if !w.wroteHeader && code >= 200 { // not a 1xx: the answer's status
		w.wroteHeader = true
		switch code {
		case http.StatusOK, http.StatusPartialContent, http.StatusNotModified:
			w.Header().Set("Cache-Control", w.cacheControl)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *freshAnswer) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK) // as net/http does
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap gives http.ResponseController the server's writer.
func (w *freshAnswer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
