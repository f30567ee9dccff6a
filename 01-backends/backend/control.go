package backend

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// status answers /status/{code} with that code, so a chapter can show what a
// proxy does with a 404 or a 503 from upstream.
func status(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.PathValue("code"))
		if !plainNumber(r.PathValue("code")) || err != nil || code < 200 || code > 599 {
			badRequest(w, "status code %q: want a number from 200 to 599", r.PathValue("code"))
			return
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, "backend %s answered %d %s\n", name, code, http.StatusText(code))
	}
}

// delay waits, then answers: the slow backend of the timeout chapters.
// It stops waiting when the client (or the proxy) gives up, so an abandoned
// request does not hold a goroutine for the whole delay.
func delay(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.PathValue("duration"))
		if err != nil || d < 0 || d > MaxDelay {
			badRequest(w, "delay %q: want a duration from 0s to %v, such as 250ms", r.PathValue("duration"), MaxDelay)
			return
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			fmt.Fprintf(w, "backend %s answered after %v\n", name, d)
		case <-r.Context().Done():
		}
	}
}

// parseSize reads a body size such as 1048576, 64KiB or 1MiB.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if len(s) > len(u.suffix) && s[len(s)-len(u.suffix):] == u.suffix {
			s, mult = s[:len(s)-len(u.suffix)], u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if !plainNumber(s) || err != nil || n < 0 || n > MaxBodySize/mult {
		return 0, fmt.Errorf("want a size from 0 to %d bytes, such as 4096, 64KiB or 1MiB", MaxBodySize)
	}
	return n * mult, nil
}

// plainNumber reports whether s is a number written the one way: ASCII
// digits alone, with no leading zero (0 itself is "0"). strconv.Atoi and
// ParseInt also take a sign and leading zeros, so without this check
// /status/+503 and /status/0503 would answer 503: second spellings of one
// request, which a cache in front keeps apart and a chapter never shows.
// Nor is 0503 a status code, which is three digits (RFC 9110, section 15).
func plainNumber(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s == "0" || s != "" && s[0] != '0'
}
