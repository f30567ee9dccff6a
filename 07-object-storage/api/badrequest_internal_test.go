package api

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// A digest mismatch of a PUT that sent no X-Content-SHA256 (the API
// server hashed the body, and a data server got other bytes) is not
// worded as a mismatch with a header the client never sent.
func TestAMismatchWithoutTheHeaderNamesNoHeader(t *testing.T) {
	r := httptest.NewRequest("PUT", "/objects/k", nil)
	err := fmt.Errorf("data server http://127.0.0.1:1: blob 2d711642b726: got content hashing to a1fce4363854: %w", blob.ErrDigestMismatch)
	assert.Equal(t, err.Error(), badRequest(r, err))
}
