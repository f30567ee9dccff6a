package backend

import (
	"net/http"
	"strconv"
	"strings"
)

// Pattern is the content of /bytes: the alphabet, repeated. A test can check
// any byte of a large body without keeping a copy: byte i is Pattern[i%26].
const Pattern = "abcdefghijklmnopqrstuvwxyz"

// block holds whole alphabets (64 KiB less a few bytes), so writing it again
// and again keeps the pattern's phase.
var block = []byte(strings.Repeat(Pattern, 65536/len(Pattern)))

// bytes answers /bytes/{size} with size bytes of Pattern, written from one
// shared block: a 1 GiB body costs this backend no memory per request.
func bytes(w http.ResponseWriter, r *http.Request) {
	n, err := parseSize(r.PathValue("size"))
	if err != nil {
		badRequest(w, "size %q: %v", r.PathValue("size"), err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	for n > 0 {
		k := min(n, int64(len(block)))
		if _, err := w.Write(block[:k]); err != nil {
			return // the client went away
		}
		n -= k
	}
}
