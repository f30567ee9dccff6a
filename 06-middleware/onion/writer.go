package onion

import (
	"fmt"
	"net/http"
)

// rootWriter is the ResponseWriter a Context hands to its first layer. It
// passes everything through, and lets FromMiddleware find the Context again
// from the writer a middleware hands to its next handler: the middleware
// may have wrapped the writer, but a well-behaved wrapper has an Unwrap
// method (http.ResponseController needs it too), so the Context is at the
// bottom of the chain of Unwraps.
type rootWriter struct {
	http.ResponseWriter
	c          *Context
	handedOver bool // ToMiddleware's Context has passed the request on: look further down
}

// Unwrap returns the writer of the server, for http.ResponseController.
func (w *rootWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// contextOf finds the Context under w.
func contextOf(w http.ResponseWriter) *Context {
	for {
		switch v := w.(type) {
		case *rootWriter:
			if !v.handedOver {
				return v.c
			}
			w = v.ResponseWriter
		case interface{ Unwrap() http.ResponseWriter }:
			w = v.Unwrap()
		default:
			panic(fmt.Sprintf("onion: a middleware passed its next handler a ResponseWriter (%T) with no Unwrap method, "+
				"so FromMiddleware cannot find the request's Context; add Unwrap() http.ResponseWriter to that type", w))
		}
	}
}
