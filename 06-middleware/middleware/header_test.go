package middleware

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestHeaderNamesAreCanonical: headerValue looks the names up as they are.
func TestHeaderNamesAreCanonical(t *testing.T) {
	for _, name := range []string{HeaderAPIKey, HeaderRequestID, headerAuthorization} {
		assert.Equal(t, http.CanonicalHeaderKey(name), name)
	}
	h := http.Header{}
	h.Set(HeaderRequestID, "a")
	h.Add(HeaderRequestID, "b")
	assert.Equal(t, "a", headerValue(h, HeaderRequestID), "the first value, as Get")
	assert.Equal(t, "", headerValue(h, HeaderAPIKey))
	assert.Equal(t, "", headerValue(nil, HeaderAPIKey))
}
