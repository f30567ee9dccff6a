package api_test

import (
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// A GET whose Range ServeContent answers 416 (every range past the end,
// "-0", or a range that does not parse) needs the object's size alone,
// so it is answered from metadata: it does not depend on the data, and
// a first chunk bad on every copy, which made it a 502 (the chunk was
// checked before the answer, as for one that sends bytes), leaves it a
// 416. So does a small object with every copy bad, which was fetched
// whole first. The neighbouring case, a range that sends a bad chunk,
// is TestLargeObjectBadFromTheStartIs502.
func TestAnUnsatisfiableRangeNeedsNoData(t *testing.T) {
	const large = 2*blob.ChunkSize + blob.ChunkSize/2
	for name, tc := range map[string]struct {
		size   int
		range_ []string
		says   string
		status int // 416 if 0
	}{
		"large, past the end":                 {large, []string{"Range", "bytes=9999999-"}, "range not satisfiable", 0},
		"large, two past the end":             {large, []string{"Range", "bytes=9999999-,8888888-8888889"}, "range not satisfiable", 0},
		"large, -0":                           {large, []string{"Range", "bytes=-0"}, "range not satisfiable", 0},
		"large, one in range, one malformed":  {large, []string{"Range", "bytes=0-5,x"}, "bad Range", 0},
		"large, past the end, If-Range holds": {large, []string{"Range", "bytes=9999999-", "If-Range", "ETAG"}, "range not satisfiable", 0},
		"small, past the end":                 {10, []string{"Range", "bytes=100-"}, "range not satisfiable", 0},
		// A precondition comes before the Range (RFC 9110, section 13.2.2).
		"large, past the end, If-Match fails": {large, []string{"Range", "bytes=9999999-", "If-Match", `"other"`}, "", http.StatusPreconditionFailed},
	} {
		t.Run(name, func(t *testing.T) {
			f := newAPIWith(t, 8<<20)
			data := make([]byte, tc.size)
			for i := range data {
				data[i] = byte('a' + i%26)
			}
			resp, body := f.do(t, http.MethodPut, "/objects/big", strings.NewReader(string(data)))
			require.Equal(t, http.StatusCreated, resp.StatusCode, body)
			etag := resp.Header.Get("ETag")
			hash := blob.Sum(data)
			flipped := 0
			for _, d := range f.Data {
				if d.Has(hash) {
					path := d.BlobPath(hash)
					b, err := os.ReadFile(path)
					require.NoError(t, err)
					b[5] ^= 0x40 // chunk 0, on every copy
					require.NoError(t, os.WriteFile(path, b, 0o644))
					flipped++
				}
			}
			require.Equal(t, 2, flipped)
			header := append([]string(nil), tc.range_...)
			for i := range header {
				header[i] = strings.ReplaceAll(header[i], "ETAG", etag)
			}
			resp, body = f.do(t, http.MethodGet, "/objects/big", nil, header...)
			status := http.StatusRequestedRangeNotSatisfiable
			if tc.status != 0 {
				status = tc.status
			}
			assert.Equal(t, status, resp.StatusCode, body)
			assert.True(t, strings.HasPrefix(body, tc.says), "%q, want it to start %q", body, tc.says)
			if tc.says == "range not satisfiable" {
				assert.Equal(t, "bytes */"+strconv.Itoa(tc.size), resp.Header.Get("Content-Range"))
			}

			// A range that sends a byte of the bad chunk is still a 502.
			resp, body = f.do(t, http.MethodGet, "/objects/big", nil, "Range", "bytes=0-9")
			assert.Equal(t, http.StatusBadGateway, resp.StatusCode, body)
		})
	}
}
