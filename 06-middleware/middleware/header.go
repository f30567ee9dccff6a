package middleware

import "net/http"

// headerValue is h.Get(key) for a key already in canonical form (X-Request-Id,
// not x-request-id), as the constants of this package are
// (TestHeaderNamesAreCanonical): Header.Get canonicalises its key on every
// call, which is time spent on every request for nothing.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}
