package api_test

import (
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

// A PUT the data servers have no room for is answered 507 Insufficient
// Storage with the sentinel's words (the detail, which names servers, is
// for the log), spooled or streamed, and nothing is stored under the key.
func TestAPutWithNoRoomIs507(t *testing.T) {
	f, _ := newAPIOn(t, storetest.NewWith(t, 2, meta.Options{}, dataserver.Options{Capacity: 100}))

	resp, body := f.do(t, http.MethodPut, "/objects/first", strings.NewReader(strings.Repeat("1", 80)))
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	second := strings.Repeat("2", 80)
	for name, header := range map[string][]string{
		"spooled":  nil,
		"streamed": {api.DigestHeader, string(blob.Sum([]byte(second)))},
	} {
		t.Run(name, func(t *testing.T) {
			resp, body := f.do(t, http.MethodPut, "/objects/second", strings.NewReader(second), header...)
			assert.Equal(t, http.StatusInsufficientStorage, resp.StatusCode)
			assert.Equal(t, "no room for the blob\n", body)
			resp, _ = f.do(t, http.MethodGet, "/objects/second", nil)
			assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		})
	}
}
