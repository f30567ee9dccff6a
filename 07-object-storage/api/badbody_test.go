package api_test

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/api"
	"github.com/gocourse/gateway/07-object-storage/blob"
)

// A PUT whose body cannot be read to its end is the request's fault: a
// body shorter than its Content-Length (the client closed its side of
// the connection after sending it, and waits for the answer), or a
// chunked body that is not valid chunked coding (RFC 9112, sections 6.3
// and 7.1). It is answered 400, not 500 (a server error, logged as a
// warning), and nothing is stored: spooled (in memory, and in a file
// that is removed), and on both of PutStream's paths (a body with its
// hash, small and large).
func TestUnreadableBodyIs400(t *testing.T) {
	large := make([]byte, 2<<20) // over the client's 1 MiB MemoryLimit: streamed
	rand.NewChaCha8([32]byte{5}).Read(large)
	small := []byte("0123456789")
	for _, tc := range []struct {
		name, head string
		body       []byte
	}{
		{"short/spooled", "Content-Length: 20\r\n", small},
		// Past the client's MemoryLimit: the spool file has what came.
		{"short/spooled to a file", fmt.Sprintf("Content-Length: %d\r\n", len(large)), large[:len(large)*3/4]},
		{"short/hashed", fmt.Sprintf("Content-Length: 20\r\n%s: %s\r\n", api.DigestHeader, blob.Sum(append(small, small...))), small},
		{"short/streamed", fmt.Sprintf("Content-Length: %d\r\n%s: %s\r\n", len(large), api.DigestHeader, blob.Sum(large)), large[:len(large)/2]},
		{"badly chunked", "Transfer-Encoding: chunked\r\n", []byte("zz\r\n0123456789\r\n")},
		{"last chunk missing", "Transfer-Encoding: chunked\r\n", []byte("a\r\n0123456789\r\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newAPIWith(t, 8<<20)
			conn, err := net.Dial("tcp", strings.TrimPrefix(f.url, "http://"))
			require.NoError(t, err)
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second)) // a bound on a hang, not a timing
			_, err = fmt.Fprintf(conn, "PUT /objects/k HTTP/1.1\r\nHost: test\r\n%s\r\n%s", tc.head, tc.body)
			require.NoError(t, err)
			require.NoError(t, conn.(*net.TCPConn).CloseWrite()) // nothing more will come
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", body)
			waitFor(t, f.done)

			got, _ := f.do(t, http.MethodGet, "/objects/k", nil)
			assert.Equal(t, http.StatusNotFound, got.StatusCode, "something was stored")
			assertEmptyDir(t, f.tempDir)
		})
	}
}
