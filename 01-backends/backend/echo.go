package backend

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// Echo is what /echo answers: the request exactly as this backend received
// it. Chapters use it to show what a proxy changed on the way (the path, the
// Host header, X-Forwarded-For and friends).
type Echo struct {
	Backend    string              `json:"backend"`
	Method     string              `json:"method"`
	Host       string              `json:"host"`
	Path       string              `json:"path"`
	RawQuery   string              `json:"raw_query"`
	RemoteAddr string              `json:"remote_addr"`
	Headers    map[string][]string `json:"headers"`
	BodyBytes  int64               `json:"body_bytes"`
}

// MaxEchoBody bounds how much request body /echo reads (and counts).
const MaxEchoBody = 10 << 20

func echo(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, MaxEchoBody))
		if err != nil {
			// Too long is the client's size, anything else its framing
			// (a chunk length that is not hex, a body cut short).
			code := http.StatusBadRequest
			var tooLong *http.MaxBytesError
			if errors.As(err, &tooLong) {
				code = http.StatusRequestEntityTooLarge
			}
			http.Error(w, "echo: reading request body: "+err.Error(), code)
			return
		}
		writeJSON(w, http.StatusOK, Echo{
			Backend:    name,
			Method:     r.Method,
			Host:       r.Host,
			Path:       r.URL.Path,
			RawQuery:   r.URL.RawQuery,
			RemoteAddr: r.RemoteAddr,
			Headers:    r.Header,
			BodyBytes:  n,
		})
	}
}

// writeJSON writes v as indented JSON: the demo is read by people.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to tell it
}
