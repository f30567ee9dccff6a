// Package backend is the course's demo web service: a small HTTP server that
// says who it is. Every later stage puts a proxy, a balancer or a gateway in
// front of two or more of these, so each response names the backend that
// served it (in the body and in the X-Backend header) and a test can see
// where a request went.
//
// The routes are the ones the chapters need:
//
//	GET  /                    "Hello from backend A"
//	ANY  /echo                the request as the backend saw it, as JSON
//	GET  /health              {"backend":"A","status":"ok"}
//	ANY  /status/{code}       answers with that status code (200-599)
//	ANY  /delay/{duration}    waits (at most MaxDelay), then answers
//	GET  /stream?n=5&every=100ms   n chunked lines, each flushed (pauses: at most MaxDelay in all)
//	GET  /sse?n=5&every=100ms      n server-sent events, bounded as /stream
//	GET  /bytes/{size}        size bytes (at most MaxBodySize)
//	GET  /cacheable/{seconds} names the backend and the time, with Cache-Control: max-age
//	GET  /ws                  a WebSocket echo (for upgrade tests)
//
// Parameters are bounded and a bad one is a 400 with a body that says why:
// a demo service must not be talked into sleeping for a year or sending a
// terabyte.
package backend

import (
	"fmt"
	"net/http"
	"time"
)

// Bounds on what a request can ask for.
const (
	MaxDelay    = 30 * time.Second
	MaxBodySize = 1 << 30 // 1 GiB
	MaxEvents   = 1000
	MaxEvery    = 10 * time.Second
	MaxAge      = 86400 // seconds of /cacheable's max-age: a day
)

// HeaderName is the response header that names the backend.
const HeaderName = "X-Backend"

// New returns the handler of a backend called name. It is an ordinary
// http.Handler, so a test serves it with httptest.NewServer and a program
// with http.Server.
func New(name string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Hello from backend %s\n", name)
	})
	mux.HandleFunc("/echo", echo(name))
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"backend": name, "status": "ok"})
	})
	mux.HandleFunc("/status/{code}", status(name))
	mux.HandleFunc("/delay/{duration}", delay(name))
	mux.HandleFunc("GET /stream", stream)
	mux.HandleFunc("GET /sse", sse)
	mux.HandleFunc("GET /bytes/{size}", bytes)
	mux.HandleFunc("GET /cacheable/{seconds}", cacheable(name))
	mux.HandleFunc("/ws", websocketEcho) // every method: its 405 says GET alone

	// Name every response, including the mux's own 404 and 405.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(HeaderName, name)
		mux.ServeHTTP(w, r)
	})
}

// badRequest answers 400 with a one-line reason.
func badRequest(w http.ResponseWriter, format string, args ...any) {
	http.Error(w, "bad request: "+fmt.Sprintf(format, args...), http.StatusBadRequest)
}
