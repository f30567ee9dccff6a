package middleware

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The two writers of Cache: the one a GET's answer goes through, copied
// as it passes if it may be kept, and the one a write's answer goes
// through, which drops the path's kept answers as it goes out.

// cacheWriter passes an answer to the client and keeps a copy of it,
// up to the cache's entry limit.
type cacheWriter struct {
	http.ResponseWriter
	c          *Cache
	status     string      // the Cache-Status fwd value
	mayKeep    bool        // a GET whose answer may be kept (fill)
	authorized bool        // the GET carries credentials (carriesCredentials)
	before     savedHeader // the header when the layer began: the outer layers' fields
	asked      time.Time   // when the request went upstream

	code     int // 0 until the header is written
	received time.Time
	fields   []cachedField
	lifetime time.Duration
	declared int64 // Content-Length, -1 if none
	body     []byte
	keeping  bool // the answer may still be kept
	done     bool // the handler returned

	// keep keeps the answer, if it may be, once its body is complete. A
	// body of known length is complete as its last bytes are written:
	// Write keeps it then, before they go out, since the proxy may flush
	// them to the client at once, and a client that has read the whole
	// answer and asks again must find it kept; an empty one (a length
	// of 0) as its header is written. One without a length is complete
	// when the handler returns (fill).
	keep func()
}

func (w *cacheWriter) WriteHeader(code int) {
	if w.code != 0 || (code < 200 && code != http.StatusSwitchingProtocols) {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.code = code
	h := w.Header()
	if code == http.StatusOK && w.mayKeep {
		w.keeping = w.keepable(h)
	}
	h.Add("Cache-Status", w.c.name+"; fwd="+w.status)
	if w.keeping && w.declared == 0 {
		// Complete already: a flush may send it all at once (see keep).
		w.keep()
		w.keeping = false
	}
	w.ResponseWriter.WriteHeader(code)
}

// keepable decides, as the header goes out, whether the answer may be
// kept, and if so copies the fields the handler set. An answer that may
// not is passed on as it comes, its body not copied.
func (w *cacheWriter) keepable(h http.Header) bool {
	w.received = w.c.now()
	if _, ok := h["Trailer"]; ok {
		return false
	}
	w.declared = -1
	if cl, ok := h["Content-Length"]; ok {
		if len(cl) != 1 {
			return false
		}
		n, err := strconv.ParseInt(cl[0], 10, 64)
		if err != nil || n < 0 || n > w.c.maxEntry {
			return false
		}
		w.declared = n
	}
	if v, ok := h["Connection"]; ok {
		// Fields for one connection, and maybe more named by it (RFC
		// 9111, 3.1): the handler's say the answer is tied to its
		// connection. A layer further out that set it before (the
		// gateway's "close" after every HTTP/1.0 or chunked request,
		// proxy.CloseDoubtfulFraming) spoke of the client's connection,
		// not of the answer: counted, no HTTP/1.0 client ever filled the
		// cache (TestAnHTTP10RequestFillsTheCache).
		if before, had := w.before.get("Connection"); !had || !slices.Equal(before, v) {
			return false
		}
	}
	for k, v := range h {
		before, had := w.before.get(k)
		switch {
		case had && len(before) <= len(v) && slices.Equal(before, v[:len(before)]):
			if len(v) > len(before) {
				w.fields = append(w.fields, cachedField{key: k, values: slices.Clip(slices.Clone(v[len(before):])), added: true})
			}
		default:
			w.fields = append(w.fields, cachedField{key: k, values: slices.Clip(slices.Clone(v))})
		}
	}
	for _, f := range w.fields {
		if f.key == "Vary" || f.key == "Set-Cookie" {
			return false
		}
	}
	resp := parseDirectives(w.fieldsHeader())
	if resp.noStore || resp.noCache || resp.private {
		return false
	}
	if w.authorized && !resp.public && !resp.mustRevalidate && resp.sMaxAge < 0 {
		return false // RFC 9111, section 3.5
	}
	lifetime, ok := resp.lifetime()
	if !ok {
		return false
	}
	w.lifetime = lifetime
	if w.declared >= 0 {
		w.body = make([]byte, 0, w.declared)
	}
	return true
}

func (w *cacheWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.keeping && w.declared >= 0 && int64(len(w.body)+len(p)) == w.declared {
		w.body = append(w.body, p...)
		w.keep()
		w.keeping = false // kept, or not to be: nothing more to copy
		return w.ResponseWriter.Write(p)
	}
	n, err := w.ResponseWriter.Write(p)
	if w.keeping {
		switch {
		case err != nil:
			w.keeping = false // the client may have it all; this layer cannot tell
		case int64(len(w.body)+n) > w.c.maxEntry:
			w.keeping, w.body = false, nil
		default:
			w.body = append(w.body, p[:n]...)
		}
	}
	return n, err
}

// FlushError sends what was written so far (http.ResponseController
// calls it), the header first if the handler had not written it.
func (w *cacheWriter) FlushError() error {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the server's writer (to
// hijack a connection, to set a deadline).
func (w *cacheWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// entry is the answer to keep, or nil: one whose body is complete, all
// its declared length copied or, without a length, its handler returned.
func (w *cacheWriter) entry(r *http.Request) *cacheEntry {
	complete := w.done
	if w.declared >= 0 {
		complete = int64(len(w.body)) == w.declared
	}
	if !w.keeping || !complete {
		return nil
	}
	// RFC 9111, section 4.2.3: the age the answer had when it came, plus
	// the time the request took, since the upstream may have made it at
	// any point of that time.
	age := max(w.received.Sub(w.asked), 0)
	if v := w.fieldValue("Age"); v != "" {
		// Age is a singleton, but one sent as a list ("10, 3") is read
		// by its first member, and an invalid one ignored (RFC 9111,
		// section 5.1): a list read as invalid would make the answer
		// younger than it is. Empty members (", 10") are no members: a
		// list's recipient skips them (RFC 9110, section 5.6.1.2).
		first := strings.TrimLeft(v, ", \t")
		first, _, _ = strings.Cut(first, ",")
		if a, ok := deltaSeconds(strings.TrimSpace(first), true); ok {
			age += a
		}
	}
	if age >= w.lifetime {
		return nil
	}
	size := cacheEntryOverhead + int64(len(w.body)) + int64(len(r.Host)+2*len(r.URL.Path)+len(r.URL.RawPath)+len(r.URL.RawQuery))
	for _, f := range w.fields {
		size += int64(len(f.key))
		for _, v := range f.values {
			size += int64(len(v))
		}
	}
	if size > w.c.maxBytes {
		return nil
	}
	return &cacheEntry{fields: w.fields, body: w.body, received: w.received, age: age, lifetime: w.lifetime, size: size}
}

// fieldsHeader is the handler's fields as a Header, to parse.
func (w *cacheWriter) fieldsHeader() http.Header {
	h := http.Header{}
	for _, f := range w.fields {
		h[f.key] = f.values
	}
	return h
}

func (w *cacheWriter) fieldValue(key string) string {
	for _, f := range w.fields {
		if f.key == key && len(f.values) > 0 {
			return f.values[0]
		}
	}
	return ""
}

// writeWriter is the writer of an unsafe request: the first final status,
// body byte or flush drops the path's answers first.
type writeWriter struct {
	http.ResponseWriter
	c         *Cache
	path      string // the path's pathBucket
	routePath string // its RoutePath, if another path; else ""
	dropped   bool
}

func (w *writeWriter) answered() {
	if !w.dropped {
		w.dropped = true
		w.c.invalidate(w.path)
		if w.routePath != "" {
			w.c.invalidate(w.routePath)
		}
	}
}

func (w *writeWriter) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.answered()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *writeWriter) Write(p []byte) (int, error) {
	w.answered()
	return w.ResponseWriter.Write(p)
}

// FlushError flushes through to the server (http.ResponseController calls
// it); a flush sends the header, so the answer is out.
func (w *writeWriter) FlushError() error {
	w.answered()
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *writeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
