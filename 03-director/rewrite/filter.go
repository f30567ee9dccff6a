package rewrite

import (
	"io"
	"net/http"
)

// transformable reports whether a response's body can be filtered: it has
// one, and it is not compressed.
//
// A compressed body is passed through untouched rather than decoded:
// decoding and encoding again costs CPU on every byte of every response,
// and sending it decoded would change what the client asked for. The
// common case needs no decoding anyway: when the client sends no
// Accept-Encoding, the Transport asks the backend for gzip itself and
// decodes the answer before ModifyResponse sees it.
func transformable(res *http.Response) bool {
	switch {
	case res.Request.Method == http.MethodHead,
		res.StatusCode == http.StatusNoContent,
		res.StatusCode == http.StatusNotModified:
		return false
	}
	ce := res.Header.Get("Content-Encoding")
	return ce == "" || ce == "identity"
}

// transform wraps res.Body in filter. The filtered body's length is not
// known until it has all been read, and reading it all first would break
// streaming and cost memory per response, so Content-Length goes: the
// server then sends the body chunked (HTTP/1.1) or framed (HTTP/2), and
// ReverseProxy flushes each piece as it comes. A strong ETag named the
// old bytes, so it goes too, and so does Accept-Ranges: the proxy asks for
// whole bodies (see rewrite), and a range of the filtered body cannot be
// had from the backend.
func transform(res *http.Response, filter func(io.Reader) io.Reader) {
	res.Body = struct {
		io.Reader
		io.Closer
	}{filter(res.Body), res.Body}
	res.ContentLength = -1
	res.Header.Del("Content-Length")
	res.Header.Del("Etag")
	res.Header.Del("Accept-Ranges")
}

// Upper is a body filter that turns ASCII letters to upper case. It works
// in place on each piece it reads, so it keeps no state, allocates
// nothing, and delays nothing.
//
// It changes bytes, not text: given an image or a zip file it upper-cases
// every byte that happens to be a lower-case letter, and the file is
// broken. Options.Transform applies to every uncompressed body, whatever
// its Content-Type (a filter sees only the bytes), so put a text filter
// only on routes that serve text, as the demo's /upper/ does.
func Upper(r io.Reader) io.Reader { return upper{r} }

type upper struct{ r io.Reader }

func (u upper) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	for i, c := range p[:n] {
		if 'a' <= c && c <= 'z' {
			p[i] = c - 'a' + 'A'
		}
	}
	return n, err
}
