package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/api"
	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/dataserver"
	"github.com/gocourse/gateway/07-object-storage/meta"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// An object within the API server's limit (1024 bytes here) that the
// data servers refuse as too large for theirs (10 bytes: each role has
// its own -max-size) is a 413 that says so, not one that names the API
// server's limit, which the object is not over; and it does not name a
// data server. Spooled, streamed with its hash, and chunked.
func TestAPutTheDataServersRefuseAsTooLargeSaysSo(t *testing.T) {
	f, c := newAPIOn(t, storetest.NewWith(t, 3, meta.Options{}, dataserver.Options{MaxBlobSize: 10}))

	const content = "twenty bytes of data"
	for name, req := range map[string]func() *http.Request{
		"spooled": func() *http.Request {
			r, _ := http.NewRequest(http.MethodPut, f.url+"/objects/k", strings.NewReader(content))
			return r
		},
		"streamed": func() *http.Request {
			r, _ := http.NewRequest(http.MethodPut, f.url+"/objects/k", strings.NewReader(content))
			r.Header.Set(api.DigestHeader, string(blob.Sum([]byte(content))))
			return r
		},
		"chunked": func() *http.Request {
			r, _ := http.NewRequest(http.MethodPut, f.url+"/objects/k", io.MultiReader(strings.NewReader(content)))
			return r
		},
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := http.DefaultClient.Do(req())
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
			assert.Contains(t, string(body), "larger than the data servers take")
			assert.NotContains(t, string(body), "1024", "the object is within the API server's limit")
			assert.NotContains(t, string(body), "127.0.0.1", "the answer names a data server")
		})
	}
	_, err := c.Stat(t.Context(), "k", 0)
	assert.ErrorIs(t, err, meta.ErrNotFound)
}
