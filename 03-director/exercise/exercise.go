// Package exercise holds the chapter's exercises. Each function below is a
// starting point that does not yet do what its comment asks; the test
// that checks it runs only with the exercise build tag:
//
//	go test -tags exercise ./03-director/exercise
//
// fails until you are done, and plain go test (the course's CI) ignores it.
package exercise

//lint:file-ignore SA1019 the starting point of exercise 1 is the deprecated Director, to be replaced.

import (
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
)

// Exercise 1. New is the seed tutorial's kind of proxy: a Director that
// points the request at target and adds the gateway's header. Rewrite it
// with a Rewrite function so that it passes proxytest: a client must not
// be able to delete header, nor pass its own X-Forwarded-For on.
//
// Check: go test -tags exercise ./03-director/exercise -run TestHardened
func New(target *url.URL, header http.Header) http.Handler {
	// START HERE: replace the Director.
	return &httputil.ReverseProxy{
		Director: func(r *http.Request) { //nolint:staticcheck // SA1019: deliberate, see the file-level comment
			r.URL.Scheme = target.Scheme
			r.URL.Host = target.Host
			for k, v := range header {
				r.Header[k] = v
			}
		},
	}
}

// Exercise 2. Prefix returns a body filter that puts p at the start of
// every line (before the first byte of the body and after every newline
// that is followed by more bytes), as the body streams: it must give each
// line as soon as it has read it, and use no more memory for a large body
// than for a small one.
//
// Check: go test -tags exercise ./03-director/exercise -run TestPrefix
func Prefix(p string) func(io.Reader) io.Reader {
	return func(r io.Reader) io.Reader {
		return r // START HERE
	}
}
