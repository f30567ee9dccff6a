package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// refused must agree with http.ServeContent, which makes the answer: a
// header it calls refused is answered with no byte of the object at hand
// (refuseRange), so calling refused one that ServeContent serves would
// send a body it cannot read. Each header is the client's, rewritten by
// byteRanges as get rewrites it, and ServeContent, serving size bytes,
// is the judge.
func TestRefusedAgreesWithServeContent(t *testing.T) {
	for _, h := range []string{
		"bytes=100-", "bytes=10-", "bytes=9-", "bytes=0-5", "bytes=-5", "bytes=-0", "bytes=- 0", "bytes=-00",
		"bytes=100-,200-", "bytes=100-,0-5", "bytes=0-5,100-",
		"bytes=0-5,x", "bytes=x", "bytes=5-2", "bytes=100-2", "bytes=100-x", "bytes=100-x,0-5", "bytes=0-5,100-x",
		"bytes=--5", "bytes=-", "bytes=", "bytes=,", "bytes=, ,0-5", "bytes= 100 - ", "bytes=+5-", "bytes=5", "Bytes=100-", "items=0-5",
	} {
		const size = 10
		served := byteRanges(h, size)
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if served != "" {
			req.Header.Set("Range", served)
		}
		http.ServeContent(rec, req, "", time.Time{}, strings.NewReader("0123456789"))
		want := rec.Code == http.StatusRequestedRangeNotSatisfiable
		assert.Equal(t, want, refused(served, size), "%q, served as %q: ServeContent answers %d", h, served, rec.Code)
	}
}
