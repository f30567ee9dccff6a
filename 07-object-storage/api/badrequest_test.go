package api_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/api"
	"github.com/gocourse/gateway/07-object-storage/blob"
)

// A PUT's 400 says what is wrong with what the client sent, in the API's
// words: none of the client package's wrapping ("put \"k\": ..."), no
// "the caller said" of a 12-digit hash the client never sent, no Go
// package's name ("mime: "), and the header it is about by its name.
// Spooled or streamed (a digest and a Content-Length), the words are the
// same, and nothing is stored.
func TestABadPutSaysWhatIsWrong(t *testing.T) {
	f := newAPI(t)
	other := string(blob.Sum([]byte("other")))
	for _, c := range []struct {
		name   string
		header []string
		want   string
	}{
		{"a type that is not type/subtype", []string{"Content-Type", "nope"}, `bad content type: "nope" is not type/subtype`},
		{"a type whose parameter does not parse", []string{"Content-Type", "text/html; charset"}, `bad content type: "text/html; charset": invalid media parameter`},
		{"a digest that is not one", []string{api.DigestHeader, "zz"}, `bad X-Content-SHA256: "zz": not a SHA-256 hash (64 lowercase hex digits)`},
		{"a digest of other content, spooled", []string{api.DigestHeader, other, "Transfer-Encoding", "chunked"}, "content does not match its X-Content-SHA256: " + other},
		{"a digest of other content, streamed", []string{api.DigestHeader, other}, "content does not match its X-Content-SHA256: " + other},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPut, f.url+"/objects/k", strings.NewReader("content"))
			require.NoError(t, err)
			for i := 0; i < len(c.header); i += 2 {
				req.Header.Set(c.header[i], c.header[i+1])
			}
			if req.Header.Get("Transfer-Encoding") == "chunked" {
				req.Header.Del("Transfer-Encoding")
				req.ContentLength = -1 // no Content-Length: spooled
				req.Body = io.NopCloser(strings.NewReader("content"))
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Equal(t, c.want+"\n", string(body))
			resp, _ = f.do(t, http.MethodGet, "/objects/k", nil)
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "nothing stored")
		})
	}
}

// A PUT whose body ends before its Content-Length says so, spooled or
// streamed, instead of "put \"k\": reading the object: reading the
// request body: unexpected EOF".
func TestAPutCutShortSaysSo(t *testing.T) {
	f := newAPI(t)
	for name, extra := range map[string]string{
		"spooled":  "",
		"streamed": api.DigestHeader + ": " + string(blob.Sum([]byte("0123456789"))) + "\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(f.url, "http://"))
			require.NoError(t, err)
			defer conn.Close()
			_, err = fmt.Fprintf(conn, "PUT /objects/short HTTP/1.1\r\nHost: api\r\nContent-Length: 10\r\n%s\r\n012", extra)
			require.NoError(t, err)
			require.NoError(t, conn.(*net.TCPConn).CloseWrite())
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Equal(t, "request body cut short: it ended before its Content-Length, or before its last chunk\n", string(body))
		})
	}
	resp, _ := f.do(t, http.MethodGet, "/objects/short", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "nothing stored")
}
