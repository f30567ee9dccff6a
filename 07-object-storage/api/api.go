// Package api is the object store's public HTTP API: a stateless server
// on top of a client.Client. Any number of them can run side by side
// behind a load balancer, since everything they know is in the metadata
// server and the data servers.
//
//	PUT    /objects/{key}                store the body as a new version
//	GET    /objects/{key}[?version=N]    read it (Range, If-None-Match)
//	HEAD   /objects/{key}[?version=N]    its size and ETag (preconditions as GET)
//	DELETE /objects/{key}                add a delete marker
//	GET    /objects/?prefix=P&after=A&limit=N   list keys, by page
//	GET    /versions/{key}[?after=N&limit=M]    a key's versions, by page
//	GET    /health                       200 while the server runs (for a gateway's checks)
//
// Every path that takes GET takes HEAD; another method is a 405 that says
// in Allow which ones the path takes.
//
// A PUT's Content-Type is kept with the version and sent back by GET and
// HEAD; a PUT without one stores none, and GET and HEAD then send
// application/octet-stream. A type that is not a media type is a 400
// (meta.ValidateContentType), and nothing is stored. Like S3, the store
// serves the type it was given: a text/html object is served as HTML, so
// GET and HEAD send X-Content-Type-Options: nosniff, and a site that
// serves users' uploads from the store must choose their types, or
// serve them from an origin of their own. A PUT with a Content-Encoding
// (gzip, say) is a 415: the store keeps no coding, and would serve the
// encoded bytes as if they were the content.
//
// A PUT may carry X-Content-SHA256 (64 hex digits): if the body does not
// match it, the answer is 400 and nothing is stored. With it and a
// Content-Length, a large body is streamed to the data servers instead of
// spooled first (client.PutStream). A PUT whose body sends nothing for
// Server.BodyTimeout is answered 408 and stores nothing. A PUT or a
// DELETE with ?version= (or any query parameter: ?versionId= too) is a
// 400, one with If-Match, If-None-Match or If-Unmodified-Since a 501:
// neither does something else instead. Nor does a query that does not
// parse (a bad %-escape, a ';'): it is a 400, where reading it as
// url.Values does, without the pair it cannot decode, would take
// "?version=1;" for no version; so is a GET naming two versions.
//
// A GET or HEAD answer made from metadata the client has cached tells a
// shared cache (a gateway's) to keep it no longer than the client keeps
// that metadata (s-maxage, see cacheControl); the latest version's still
// has a browser revalidate every time.
//
// A PUT that stores a version answers with its JSON and its ETag: 201
// when the key had no object (never put, or deleted), 200 when the new
// version replaces one, as RFC 9110 (section 9.3.4) has a PUT answer.
package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// DigestHeader names the optional SHA-256 of a PUT's body.
const DigestHeader = "X-Content-SHA256"

// Server is the public API. It routes by hand instead of with
// http.ServeMux, because ServeMux cleans paths: it would redirect
// /objects/a/../b to /objects/b and /objects/a//b to /objects/a/b, so a
// key would not be what the client sent.
type Server struct {
	// BodyTimeout is the longest a PUT may go without sending a byte of
	// its body while the server waits for one: it is then answered 408
	// and nothing is stored (chapter 06's middleware.BodyTimeout, the
	// gateway's body-timeout). New sets middleware.DefaultBodyTimeout;
	// 0 or less turns it off. Change it before serving.
	BodyTimeout time.Duration

	// Now is the clock that says for how many more seconds a GET or HEAD
	// answer is fresh (cacheControl): it counts to times the client's
	// clock set (client.Object.FreshUntil), so it must be that clock,
	// client.Options.Now. New sets time.Now. Change it before serving.
	Now func() time.Time

	client  *client.Client
	maxSize int64
	log     *slog.Logger
}

// New returns an API server storing objects of up to maxSize bytes
// through c.
func New(c *client.Client, maxSize int64, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	return &Server{
		BodyTimeout: middleware.DefaultBodyTimeout,
		Now:         time.Now,
		client:      c, maxSize: maxSize, log: log,
	}
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
		// r.URL.Query() drops a pair it cannot decode (a bad %-escape, a
		// ';'): "?version=1;" would read as no version, and a DELETE
		// would hide the latest version instead of being refused.
		http.Error(w, "bad query: "+err.Error(), http.StatusBadRequest)
		return
	}
	path := r.URL.Path
	switch {
	case path == "/objects" || path == "/objects/":
		switch {
		case r.Method == http.MethodGet || r.Method == http.MethodHead:
			s.list(w, r)
		case path == "/objects/" && (r.Method == http.MethodPut || r.Method == http.MethodDelete):
			// An object's path with nothing after "/objects/": what is
			// wrong is the key, not the method.
			s.fail(w, r, meta.ValidateKey(""))
		default:
			notAllowed(w, "GET, HEAD")
		}
	case strings.HasPrefix(path, "/objects/"):
		key := strings.TrimPrefix(path, "/objects/")
		if (r.Method == http.MethodPut || r.Method == http.MethodDelete) && refuseUnsafe(w, r) {
			return
		}
		switch r.Method {
		case http.MethodPut:
			// The size limit first, with the server's own writer: on a
			// body past it, MaxBytesReader tells the server to close the
			// connection after the 413 instead of reading on.
			r.Body = http.MaxBytesReader(w, requestBody{r.Body}, s.maxSize)
			middleware.BodyTimeout(s.BodyTimeout)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s.put(w, r, key)
			})).ServeHTTP(w, r)
		case http.MethodGet, http.MethodHead:
			s.get(w, r, key)
		case http.MethodDelete:
			s.delete(w, r, key)
		default:
			notAllowed(w, "GET, HEAD, PUT, DELETE")
		}
	case path == "/health":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			notAllowed(w, "GET, HEAD")
			return
		}
		// Liveness of this process only: asking the metadata server here
		// would make a gateway take every API server out at once when
		// the metadata server is away, and answer 503 instead of the
		// store's own, clearer error.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	case strings.HasPrefix(path, "/versions/"):
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			notAllowed(w, "GET, HEAD")
			return
		}
		s.versions(w, r, strings.TrimPrefix(path, "/versions/"))
	default:
		http.NotFound(w, r)
	}
}

// notAllowed answers a method the path does not take: 405, with the
// Allow header RFC 9110 (section 15.5.6) requires. Every path that takes
// GET takes HEAD too (section 9.1: a server must support both), and
// net/http sends a HEAD's headers without the body.
func notAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
}

// Info is what the API says about a version: no data server addresses,
// which are the store's business. Its JSON has a size, 0 for an empty
// object, except for a delete marker, which has none (see MarshalJSON).
type Info struct {
	Key     string    `json:"key"`
	Version uint64    `json:"version"`
	Size    int64     `json:"size"`
	SHA256  blob.Hash `json:"sha256,omitempty"`
	Deleted bool      `json:"deleted,omitempty"`
	Created time.Time `json:"created"`

	ContentType string `json:"content_type,omitempty"` // as given to PUT; none if it gave none
}

// MarshalJSON leaves the size out of a delete marker only: omitempty on
// Size left it out of an empty object too, whose answers then read as if
// it had no size at all.
func (i Info) MarshalJSON() ([]byte, error) {
	type plain Info // Info's fields without this method
	if !i.Deleted {
		return json.Marshal(plain(i))
	}
	return json.Marshal(struct {
		Key     string    `json:"key"`
		Version uint64    `json:"version"`
		Deleted bool      `json:"deleted"`
		Created time.Time `json:"created"`
	}{i.Key, i.Version, i.Deleted, i.Created})
}

func info(v meta.Version) Info {
	return Info{Key: v.Key, Version: v.Number, Size: v.Size, SHA256: v.Hash, Deleted: v.Deleted, Created: v.Created, ContentType: v.ContentType}
}

func (s *Server) put(w http.ResponseWriter, r *http.Request, key string) {
	if err := meta.ValidateKey(key); err != nil {
		s.fail(w, r, err)
		return
	}
	if ce := codings(r.Header.Values("Content-Encoding")); len(ce) > 0 {
		// The store keeps the bytes it is sent and would serve them
		// without the coding: a gzip body would come back as gzip bytes
		// labelled with the type of what they encode. 415, with the
		// codings a PUT may use (RFC 9110, sections 12.5.3 and 15.5.16).
		w.Header().Set("Accept-Encoding", "identity")
		http.Error(w, fmt.Sprintf("Content-Encoding %q is not supported: the store keeps the bytes it is sent, and would serve them without it; send them decoded", strings.Join(ce, ", ")), http.StatusUnsupportedMediaType)
		return
	}
	if r.ContentLength > s.maxSize {
		s.fail(w, r, fmt.Errorf("%d bytes: %w", r.ContentLength, errOverLimit))
		return
	}
	body := r.Body // limited to maxSize by ServeHTTP
	want := blob.Hash(r.Header.Get(DigestHeader))
	opt := client.PutOptions{ContentType: r.Header.Get("Content-Type")}
	var (
		v   meta.Version
		err error
	)
	if want != "" && r.ContentLength >= 0 {
		// The name and the size are known before the body: stream it to
		// the data servers (client.PutStream).
		v, err = s.client.PutStream(r.Context(), key, body, r.ContentLength, want, opt)
	} else {
		v, err = s.client.PutDigest(r.Context(), key, body, want, opt)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(v))
	// RFC 9110, section 9.3.4: a PUT that creates the target's current
	// representation answers 201, one that replaces it 200. The key is
	// the target: its earlier versions stay, but it now shows this one.
	status := http.StatusCreated
	if v.Replaced {
		status = http.StatusOK
	}
	reply(w, status, info(v))
}

// codings are the content codings that Content-Encoding header values
// name, but identity, which is none. Empty elements of the list ("",
// "gzip,") are skipped, as RFC 9110 (section 5.6.1.2) asks of a
// recipient: an empty header names no coding.
func codings(values []string) []string {
	var out []string
	for _, v := range values {
		for c := range strings.SplitSeq(v, ",") {
			if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "identity") {
				out = append(out, c)
			}
		}
	}
	return out
}

// errBody marks a PUT's body that could not be read to its end: cut
// short (fewer bytes than its Content-Length, or chunked without the
// last chunk), not valid chunked coding, or a connection that failed.
// That is the request's fault, or the network's: a 400, not a 500
// logged as the store's failure. Its own limits are not marked: past
// the size limit is a 413, a stalled body a 408.
var errBody = errors.New("reading the request body")

// requestBody marks its body's read errors with errBody, so that fail can
// tell them from the store's. It sits under the size limit and the body
// timeout, whose errors are their own, and leaves io.EOF alone: that is
// how a body ends.
type requestBody struct{ io.ReadCloser }

func (b requestBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = &bodyError{err}
	}
	return n, err
}

// get serves a version through http.ServeContent, which answers Range
// and conditional requests. The content comes from client.GetFromFunc: a
// small blob verified whole, a large one streamed chunk by chunk, each
// chunk verified before ServeContent sees it, starting with the chunk
// the answer starts in (see client.Get for what an error mid-way looks
// like). HEAD needs metadata only: it is answered by ServeContent too,
// from content that has a size and no bytes.
func (s *Server) get(w http.ResponseWriter, r *http.Request, key string) {
	number, ok := s.version(w, r)
	if !ok {
		return
	}
	r = withLists(r)
	if number == 0 {
		// The latest version changes with every PUT. Without a freshness
		// of its own, a cache may reuse the answer for a time it picks
		// (heuristic freshness, RFC 9111, section 4.2.2: typically a
		// tenth of its age) and show a version the store has replaced;
		// no-cache lets it keep the answer but has it revalidate first
		// (a 304 from metadata alone). A version named by ?version=
		// never changes. An answer made from metadata that is still
		// fresh in the client's cache says for how long (fresh).
		w.Header().Set("Cache-Control", "no-cache")
	}
	if r.Method == http.MethodHead {
		v, until, err := s.client.StatFreshUntil(r.Context(), key, number)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w = s.fresh(w, number == 0, until)
		headers(w, v)
		// ServeContent, like a GET, for the preconditions (304, 412) and
		// the headers; Range is ignored, as RFC 9110 (section 14.2) asks
		// of a method other than GET.
		http.ServeContent(w, withRange(r, ""), "", v.Created, metadataOnly(v.Size))
		return
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && r.Header.Get("If-Match") == "" && r.Header.Get("If-Unmodified-Since") == "" {
		// Answer a revalidation from metadata alone: Get would fetch
		// data (a stream checks its first chunk before it returns). With
		// If-Match or If-Unmodified-Since, which come first (RFC 9110,
		// section 13.2.2), ServeContent decides.
		if v, until, err := s.client.StatFreshUntil(r.Context(), key, number); err == nil && noneMatch(inm, etag(v)) {
			w = s.fresh(w, number == 0, until)
			headers(w, v)
			// As http.ServeContent's 304: no representation metadata but
			// the validator (RFC 9110, section 15.4.5).
			w.Header().Del("Content-Type")
			w.Header().Del("Last-Modified")
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	if r.Header.Get("Range") != "" && s.refuseRange(w, r, key, number) {
		return
	}
	// Where ServeContent will read first depends on the version: its
	// ETag and date (If-Range), and its size (byteRanges). GetFromFunc
	// says which version it reads before it checks the first chunk, so
	// that the chunk checked is the one read first, and a failure there
	// is still a clean 502.
	var served string // the Range header ServeContent acts on
	o, err := s.client.GetFromFunc(r.Context(), key, number, func(v meta.Version) int64 {
		served = s.servedRange(r.Context(), r, number, v)
		return rangeStart(served, v.Size)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer o.Close()
	w = s.fresh(w, number == 0, o.FreshUntil)
	headers(w, o.Version)
	if h := r.Header.Get("Range"); h != "" {
		w = &rangeRefusal{ResponseWriter: w, header: h, size: o.Size}
		r = withRange(r, served)
	}
	http.ServeContent(w, r, "", o.Created, o)
}

// refuseRange answers a GET whose Range selects no byte of the version
// (ServeContent's 416) from metadata alone, as a HEAD is answered, and
// reports whether it did. Such an answer needs the object's size, not
// its bytes: fetched first, as for a range that sends some, a chunk bad
// on every copy made it a 502. The lookup is the client's cached one
// GetFromFunc makes next, when the range is served. Preconditions still
// come first (ServeContent: a 412 or 304 before a 416).
func (s *Server) refuseRange(w http.ResponseWriter, r *http.Request, key string, number uint64) bool {
	v, until, err := s.client.StatFreshUntil(r.Context(), key, number)
	if err != nil {
		s.fail(w, r, err)
		return true
	}
	served := s.servedRange(r.Context(), r, number, v)
	if !refused(served, v.Size) {
		return false
	}
	w = s.fresh(w, number == 0, until)
	headers(w, v)
	w = &rangeRefusal{ResponseWriter: w, header: r.Header.Get("Range"), size: v.Size}
	http.ServeContent(w, withRange(r, served), "", v.Created, metadataOnly(v.Size))
	return true
}

// servedRange is the Range header ServeContent is to act on when it
// serves version v (number, as asked, 0 for the latest) for r: "" when
// the object goes whole, because r has no Range, or an If-Range that
// does not hold, or ranges that byteRanges ignores; else byteRanges'
// rewriting of r's. The If-Range is judged here, not by ServeContent
// (withRange removes it): GetFromFunc checks the chunk where the answer
// will start, so this judgement and the answer must be one.
func (s *Server) servedRange(ctx context.Context, r *http.Request, number uint64, v meta.Version) string {
	h := r.Header.Get("Range")
	if h == "" {
		return ""
	}
	if ir := strings.TrimSpace(r.Header.Get("If-Range")); ir != "" && !s.ifRange(ctx, ir, number, v) {
		return ""
	}
	return byteRanges(h, v.Size)
}

// ifRange reports whether an If-Range header holds for version v, as
// http.ServeContent judges it (RFC 9110, section 13.1.5): an entity-tag
// must match v's with the strong comparison, so a weak one never does;
// a date must be v's Last-Modified, and be a strong validator, which for
// the latest version (number 0) it is only if no other version of the
// key has the same second (onlyOfItsSecond). Anything else is false, and
// the object goes whole.
func (s *Server) ifRange(ctx context.Context, ir string, number uint64, v meta.Version) bool {
	if !isDate(ir) {
		tag, _, ok := entityTag(ir)
		return ok && tag == etag(v)
	}
	t, err := http.ParseTime(ir)
	if err != nil || v.Created.IsZero() || t.Unix() != v.Created.Unix() {
		return false
	}
	return number != 0 || s.onlyOfItsSecond(ctx, v)
}

// isDate reports whether an If-Range header holds a date, not an ETag.
func isDate(ifRange string) bool {
	ifRange = strings.TrimSpace(ifRange)
	return ifRange != "" && !strings.HasPrefix(ifRange, `"`) && !strings.HasPrefix(ifRange, "W/")
}

// onlyOfItsSecond reports whether v is the only version of its key whose
// Last-Modified (its Created, to the second) is v's: then the date is a
// strong validator for the latest version (RFC 9110, section 8.8.2.2),
// since no other content of the key had that date. Versions are numbered
// in order, so the one before v tells. When it is an earlier version of
// the same second, or cannot be read (a delete marker, whose date Stat
// does not give; expired; the metadata server away), the date is not
// known to be strong.
func (s *Server) onlyOfItsSecond(ctx context.Context, v meta.Version) bool {
	if v.Number == 1 {
		return true
	}
	prev, err := s.client.Stat(ctx, v.Key, v.Number-1)
	return err == nil && prev.Created.Unix() < v.Created.Unix()
}

// rangeStart is where http.ServeContent reads first when it acts on
// header (one servedRange gives) for an object of size bytes: the first
// byte of the first range that selects one, 100 for "bytes=100-199",
// SIZE-500 for the suffix range "bytes=-500". ServeContent skips a range
// past the end, and so "SIZE-" (byteRanges' spelling of "-0"): on 1000
// bytes, "bytes=5000-,100-199" starts at 100, not at 5000, the chunk
// client.GetFromFunc is to check. 0 without a header, or when no range
// selects a byte (ServeContent answers 416 and reads nothing; refuseRange
// answers that before any data is read, unless a write between its
// lookup and GetFromFunc's made the range one that selects nothing).
func rangeStart(header string, size int64) int64 {
	set, ok := strings.CutPrefix(header, "bytes=")
	if !ok {
		return 0
	}
	for spec := range strings.SplitSeq(set, ",") {
		if first, _, ok := span(spec, size); ok && first < size {
			return first
		}
	}
	return 0
}

// refused reports whether http.ServeContent answers 416 to header (one
// servedRange gives) for an object of size bytes: when one of its
// ranges does not parse, which refuses the whole header, or when none
// selects a byte (each past the end). An empty element is skipped, as
// ServeContent skips it: "bytes=," is the whole object.
func refused(header string, size int64) bool {
	set, ok := strings.CutPrefix(header, "bytes=")
	if !ok {
		return false // no Range: the whole object
	}
	ranges, selects := 0, false
	for spec := range strings.SplitSeq(set, ",") {
		if strings.TrimSpace(spec) == "" {
			continue
		}
		first, _, ok := span(spec, size)
		if !ok {
			return true
		}
		ranges++
		selects = selects || first < size
	}
	return ranges > 0 && !selects
}

// noneMatch reports whether an If-None-Match header names want (an
// entity-tag, quoted), with the weak comparison RFC 9110 asks for ("W/" ignored), or
// holds "*". It reads the list as http.ServeContent does for a HEAD, so
// that GET and HEAD agree: entity-tags, with or without commas between
// them, up to the first element that is not one (section 8.8.3's
// grammar: a quoted string of visible characters, no space).
func noneMatch(header, want string) bool {
	rest := header
	for {
		rest = strings.TrimLeft(rest, " \t,")
		switch {
		case rest == "":
			return false
		case rest[0] == '*':
			return true
		}
		tag, after, ok := entityTag(strings.TrimPrefix(rest, "W/"))
		if !ok {
			return false // not an entity-tag: the rest does not count
		}
		if tag == want {
			return true
		}
		rest = after
	}
}

// entityTag cuts the opaque-tag (a double-quoted string of visible
// characters other than '"', or bytes from 0x80) at the start of s.
func entityTag(s string) (tag, rest string, ok bool) {
	if !strings.HasPrefix(s, `"`) {
		return "", s, false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return s[:i+1], s[i+1:], true
		case c == 0x21 || c >= 0x23 && c <= 0x7e || c >= 0x80:
		default:
			return "", s, false
		}
	}
	return "", s, false
}

// headers sets what GET and HEAD say about version v. The Content-Type
// set here is the one http.ServeContent sends (it sniffs only when none
// is set), and the one it gives each part of a multipart/byteranges
// answer. nosniff tells a browser to take the type as given instead of
// guessing one from the bytes (older browsers found HTML in text/plain),
// and to refuse an object as a script or a style sheet unless its type
// says it is one (the Fetch standard's nosniff check).
func headers(w http.ResponseWriter, v meta.Version) {
	h := w.Header()
	h.Set("Content-Type", cmp.Or(v.ContentType, defaultType))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", etag(v))
	h.Set("Last-Modified", v.Created.UTC().Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	h.Set("X-Version", strconv.FormatUint(v.Number, 10))
}

func (s *Server) version(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	if !r.URL.Query().Has("version") {
		return 0, true // the latest
	}
	if n := len(r.URL.Query()["version"]); n > 1 {
		http.Error(w, fmt.Sprintf("%d versions named: name one", n), http.StatusBadRequest)
		return 0, false
	}
	// An empty ?version= is a mistake, not a request for the latest.
	q := r.URL.Query().Get("version")
	n, err := strconv.ParseUint(q, 10, 64)
	if err != nil || n == 0 {
		http.Error(w, fmt.Sprintf("version %q is not a positive number", q), http.StatusBadRequest)
		return 0, false
	}
	return n, true
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request, key string) {
	v, err := s.client.Delete(r.Context(), key)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	reply(w, http.StatusOK, info(v))
}

// Listing is one page of keys.
type Listing struct {
	Objects []Info `json:"objects"`
	Next    string `json:"next,omitempty"`
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := meta.ParseLimit(q.Get("limit"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	l, err := s.client.List(r.Context(), q.Get("prefix"), q.Get("after"), limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := Listing{Objects: []Info{}, Next: l.Next}
	for _, v := range l.Objects {
		out.Objects = append(out.Objects, info(v))
	}
	reply(w, http.StatusOK, out)
}

// VersionList is one page of a key's versions, oldest first.
type VersionList struct {
	Versions []Info `json:"versions"`
	Next     uint64 `json:"next,omitempty"`
}

func (s *Server) versions(w http.ResponseWriter, r *http.Request, key string) {
	q := r.URL.Query()
	limit, err := meta.ParseLimit(q.Get("limit"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	after, err := meta.ParseAfterVersion(q.Get("after"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	l, err := s.client.VersionPage(r.Context(), key, after, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := VersionList{Versions: []Info{}, Next: l.Next}
	for _, v := range l.Versions {
		out.Versions = append(out.Versions, info(v))
	}
	reply(w, http.StatusOK, out)
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// errOverLimit is a PUT whose Content-Length is over this server's
// limit. One found over it while reading is an *http.MaxBytesError; a
// client.ErrTooLarge that is neither is a data server's refusal, whose
// limit may be lower (each role has its own -max-size).
var errOverLimit = fmt.Errorf("over the API server's limit: %w", client.ErrTooLarge)

// fail maps the client's errors to status codes.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, meta.ErrBadKey), errors.Is(err, meta.ErrBadContentType), errors.Is(err, blob.ErrBadHash),
		errors.Is(err, blob.ErrDigestMismatch), errors.Is(err, client.ErrBadRequest):
		status = http.StatusBadRequest
	case errors.Is(err, meta.ErrNotFound):
		status = http.StatusNotFound
	case errors.As(err, &tooBig), errors.Is(err, client.ErrTooLarge):
		status = http.StatusRequestEntityTooLarge
		w.Header().Set("Connection", "close") // the rest of the body is not worth reading
		if tooBig != nil || errors.Is(err, errOverLimit) {
			err = fmt.Errorf("object larger than the limit of %d bytes: %w", s.maxSize, client.ErrTooLarge)
		} else {
			// A data server's refusal: its -max-size is below this
			// server's. Its own words name its address.
			err = fmt.Errorf("object larger than the data servers take: %w", client.ErrTooLarge)
		}
	case errors.Is(err, middleware.ErrBodyTimeout):
		status = http.StatusRequestTimeout
		w.Header().Set("Connection", "close") // the rest of the body will not be read
	case errors.Is(err, errBody):
		status = http.StatusBadRequest
	case errors.Is(err, meta.ErrNoRoom):
		// Too few copies made because the data servers are full: a
		// later try may find room, as with 503, but the operator must
		// act, and 507 (RFC 4918) says why.
		status = http.StatusInsufficientStorage
	case errors.Is(err, meta.ErrTooFewReplicas):
		status = http.StatusServiceUnavailable
	case errors.Is(err, client.ErrNoReplica):
		status = http.StatusBadGateway
	case errors.Is(err, context.Canceled):
		// The client went away, most likely, and nobody reads this. But
		// writing nothing would let net/http answer 200 to a request
		// that failed, if somebody is still there; nginx logs such a
		// request as 499 (client closed request).
		status = 499
	case errors.Is(err, context.DeadlineExceeded):
		// A deadline on the request (http.TimeoutHandler, or a layer of
		// chapter 06 in the same process) ran out while the store worked.
		status = http.StatusGatewayTimeout
	case errors.Is(err, client.ErrMetaUnreachable), errors.Is(err, client.ErrNotMetadataServer), errors.Is(err, client.ErrBadAnswer):
		// An upstream that does not answer, or not as one, or with what
		// cannot be used: as a gateway says it (RFC 9110, section
		// 15.6.3). After the cancelled request: that one fails to reach
		// it too.
		status = http.StatusBadGateway
	}
	if status >= 500 {
		// The detail is for the operator: it can name a database file, an
		// internal address, a data server's ID. The client gets a fixed
		// sentence, and the request id (the gateway's X-Request-Id, sent
		// back in its answer) ties the two together.
		s.log.Warn("request failed", "status", status, "err", err, "request_id", r.Header.Get("X-Request-Id"))
		http.Error(w, serverFailure(err), status)
		return
	}
	if status == 499 {
		// Its error is the store's (an upload cut short names the data
		// server it went to), and nobody may be there to read it.
		http.Error(w, "client closed request", status)
		return
	}
	if status == http.StatusNotFound {
		http.Error(w, notFound(r, err), status)
		return
	}
	if status == http.StatusBadRequest {
		http.Error(w, badRequest(r, err), status)
		return
	}
	http.Error(w, err.Error(), status)
}

// notFound words a 404 of the store for a client, from what it asked
// for: the error is the metadata server's answer, read through the
// client ("Not Found: meta: \"k\": has no version 9: no such object"),
// whose status and package names mean nothing to a curl user, and whose
// words differ with the path that found nothing. The API server's other
// errors read as these do: what is wrong, then what it is about.
func notFound(r *http.Request, err error) string {
	if key, ok := strings.CutPrefix(r.URL.Path, "/versions/"); ok {
		return fmt.Sprintf("no such object %q", key)
	}
	key := strings.TrimPrefix(r.URL.Path, "/objects/")
	number, _ := strconv.ParseUint(r.URL.Query().Get("version"), 10, 64) // checked already (version)
	deleted := errors.Is(err, meta.ErrDeleted)
	switch {
	case r.Method == http.MethodDelete && deleted:
		return fmt.Sprintf("object %q is deleted already: its latest version is a delete marker; /versions/%s lists the older ones", key, key)
	case r.Method == http.MethodDelete:
		return fmt.Sprintf("no such object %q", key)
	case deleted && number == 0:
		return fmt.Sprintf("object %q is deleted: its latest version is a delete marker; /versions/%s lists the older ones", key, key)
	case deleted:
		return fmt.Sprintf("version %d of %q is a delete marker", number, key)
	case number != 0:
		return fmt.Sprintf("no version %d of %q", number, key)
	}
	return fmt.Sprintf("no such object %q", key)
}

// serverFailure is what a client is told of a failure on the store's
// side: the words of the sentinel error it matches, none of the
// wrapping around it.
func serverFailure(err error) string {
	for _, known := range []error{meta.ErrNoRoom, meta.ErrTooFewReplicas, client.ErrNoReplica, context.DeadlineExceeded, client.ErrMetaUnreachable, client.ErrNotMetadataServer, client.ErrBadAnswer} {
		if errors.Is(err, known) {
			if known == context.DeadlineExceeded {
				// Package context's words ("context deadline exceeded")
				// name a Go type, not the request's deadline.
				return "deadline exceeded: the request's time ran out while the store worked"
			}
			return known.Error()
		}
	}
	return "internal server error"
}
