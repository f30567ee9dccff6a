package middleware

import (
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"net/textproto"
	"slices"
	"strings"

	"github.com/gocourse/gateway/06-middleware/onion"
)

// HeaderRequestID carries a request's id, from the client (optionally),
// to the upstream and back to the client.
const HeaderRequestID = "X-Request-Id"

// RequestID gives every request an id that the logs of the gateway and
// of the upstream share: the client's X-Request-Id if it is well formed
// (ValidID), otherwise a new one from newID (nil means NewID). A malformed
// one is replaced, not trusted: it goes into logs and upstream headers,
// where a client must not be able to inject newlines or megabytes.
//
// The id goes upstream in the request header, back to the client in the
// response header, and into the Record for the access log. The response's
// is set as the header goes out, so it replaces an upstream's own (a
// proxy adds the upstream's fields beside the gateway's): the client gets
// one X-Request-Id, the gateway's.
func RequestID(newID func() string) onion.Middleware {
	if newID == nil {
		newID = NewID
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := headerValue(r.Header, HeaderRequestID)
			if !ValidID(id) {
				id = newID()
			}
			r, c := recordOf(r)
			c.rec.ID = id
			// Header values in arrays the Record's allocation holds, with
			// the canonical key (Set would canonicalise it again). Each
			// slice has a capacity of 1: an append makes a new array.
			c.ids = [2]string{id, id}
			r.Header[HeaderRequestID] = c.ids[0:1:1]
			// A proxy removes the fields the request's Connection header
			// names (they are for one hop), and a client may name any:
			// "Connection: X-Request-Id" would take the id off the
			// upstream's request. So the name is taken out of Connection.
			if conn, ok := r.Header["Connection"]; ok {
				r.Header["Connection"] = withoutToken(conn, HeaderRequestID)
			}
			// The response's is set as the header goes out, so that an
			// upstream's own X-Request-Id, which a proxy adds beside it,
			// is replaced (fieldWriter), and not before: the layers
			// further in get a header with nothing in it, and a proxy
			// has nothing of the gateway's to keep for after a 1xx
			// (chapter 03: four allocations a request fewer). Recover
			// puts the id on a panic's 500 itself. The writer lives in
			// the Record's allocation too.
			fw := &c.idWriter
			if fw.ResponseWriter != nil { // a second RequestID in one chain
				fw = new(fieldWriter)
			}
			*fw = fieldWriter{ResponseWriter: w, key: HeaderRequestID, value: c.ids[1:2:2]}
			defer fw.finish() // a panic's 500 (Recover) too
			next.ServeHTTP(fw, r)
		})
	}
}

// withoutToken returns the values of a comma-separated list field
// without the token name (in any case), or values itself, unchanged and
// without allocating, if none is name.
func withoutToken(values []string, name string) []string {
	has := func(v string) bool {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(textproto.TrimString(t), name) {
				return true
			}
		}
		return false
	}
	if !slices.ContainsFunc(values, has) {
		return values
	}
	out := make([]string, 0, len(values))
	for _, v := range values {
		var kept []string
		for t := range strings.SplitSeq(v, ",") {
			if t = textproto.TrimString(t); t != "" && !strings.EqualFold(t, name) {
				kept = append(kept, t)
			}
		}
		if len(kept) > 0 {
			out = append(out, strings.Join(kept, ", "))
		}
	}
	return out
}

// MaxIDLength bounds an incoming request id.
const MaxIDLength = 64

// ValidID reports whether id is an acceptable request id: 1 to
// MaxIDLength letters, digits, '-', '_' or '.' (a UUID is one).
func ValidID(id string) bool {
	if id == "" || len(id) > MaxIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// NewID returns 128 random bits in hex: two requests never share one.
// They come from math/rand/v2, whose generator (ChaCha8, seeded by the
// operating system) needs no system call per id, unlike crypto/rand: an id
// is not a secret, it only has to be unique.
func NewID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	var s [32]byte
	hex.Encode(s[:], b[:])
	return string(s[:])
}
