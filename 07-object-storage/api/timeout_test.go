package api_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/middleware/bodytest"
	"github.com/gocourse/gateway/07-object-storage/api"
	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// A PUT whose body stops mid-way is answered 408 once the pause passes
// BodyTimeout, and nothing is stored: spooled, and streamed to the data
// servers (a large body with its hash).
func TestStalledBodyIs408(t *testing.T) {
	data := make([]byte, 4<<20)
	rand.NewChaCha8([32]byte{11}).Read(data)
	for name, header := range map[string]string{
		"spooled":  "",
		"streamed": api.DigestHeader + ": " + string(blob.Sum(data)) + "\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			f := newAPIWith(t, 8<<20, func(s *api.Server) { s.BodyTimeout = 50 * time.Millisecond })
			resp := bodytest.StalledPut(t, f.url, "/objects/k", header, data, len(data)/2)
			resp.Body.Close()
			assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode)
			assert.True(t, resp.Close, "the connection is closed: the rest of the body will not be read")
			waitFor(t, f.done)

			got, _ := f.do(t, http.MethodGet, "/objects/k", nil)
			assert.Equal(t, http.StatusNotFound, got.StatusCode)
			for _, d := range f.Data {
				assert.False(t, d.Has(blob.Sum(data)), "a data server kept the blob")
			}
			assertEmptyDir(t, f.tempDir)
		})
	}
}

func waitFor[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second): // a bound on a hang, not a timing
		t.Fatal("waited 10s")
		panic("unreachable")
	}
}

// A BodyTimeout of 0 means no limit, as a zero timeout does in net/http;
// it is not a clock that has already run out.
func TestZeroBodyTimeoutIsOff(t *testing.T) {
	f := newAPIWith(t, 1<<20, func(s *api.Server) { s.BodyTimeout = 0 })
	data := bytes.Repeat([]byte("x"), 512<<10)
	resp, body := f.do(t, http.MethodPut, "/objects/k", bytes.NewReader(data))
	assert.Equal(t, http.StatusCreated, resp.StatusCode, body)
}

// A PUT that fails because its context was cancelled still gets an
// answer (499, as nginx logs it), never net/http's implicit 200 for a
// handler that wrote nothing.
func TestCancelledPutIsNot200(t *testing.T) {
	f := newAPI(t)
	h := api.New(client.New(client.Options{MetaURL: f.MetaURL, Log: storetest.Quiet}), 1024, storetest.Quiet)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPut, "/objects/k", strings.NewReader("content"))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, 499, rec.Code)
	assert.Equal(t, "client closed request\n", rec.Body.String(), "a fixed sentence: the error can name an internal address")
	resp, _ := f.do(t, http.MethodGet, "/objects/k", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

// A chunked PUT past the size limit is answered 413 at once, on a
// connection then closed, even if the client then pauses: the server
// does not wait to read the rest of a body it refused.
func TestChunkedPutPastTheLimitIs413AtOnce(t *testing.T) {
	f := newAPI(t) // 1 KiB objects
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.url, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second)) // a bound on a hang, not a timing
	_, err = fmt.Fprintf(conn, "PUT /objects/k HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n%s\r\n", strings.Repeat("x", 4096))
	require.NoError(t, err) // and no more
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.True(t, resp.Close)
}

// A PUT refused before its body is read (a bad key) still gets its 400
// when the client has gone silent mid-body: net/http's discard of the
// unread body, before the answer, is bounded by BodyTimeout too.
func TestARefusalReachesASilentClient(t *testing.T) {
	f := newAPIWith(t, 8<<20, func(s *api.Server) { s.BodyTimeout = 50 * time.Millisecond })
	resp := bodytest.StalledPut(t, f.url, "/objects/a/../b", "", make([]byte, 1000), 100)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}
