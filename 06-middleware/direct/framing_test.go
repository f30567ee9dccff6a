package direct

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sameAnswer is a raw backend that answers every request on a connection
// with the same bytes and keeps the connection open.
func sameAnswer(t *testing.T, answer string) (string, func() int32) {
	t.Helper()
	url, accepted := rawServer(t, func(c net.Conn, r *bufio.Reader) {
		for {
			req, err := http.ReadRequest(r)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			io.WriteString(c, answer)
		}
	})
	return url, accepted.Load
}

// A client that sends "Connection: close" must send nothing more on that
// connection (RFC 9112, section 9.6), whether it asked through
// Request.Close or through the header field itself, and whatever the
// backend answers.
func TestARequestThatSaidCloseDoesNotKeepItsConnection(t *testing.T) {
	url, accepted := sameAnswer(t, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
	tr := &Transport{Fallback: &fallback{}}
	defer tr.CloseIdleConnections()
	for _, field := range []string{"close", "foo, Close"} {
		req := mustRequest(t, "GET", url)
		req.Header.Set("Connection", field)
		code, body := do(t, tr, req)
		assert.Equal(t, 200, code)
		assert.Equal(t, "hello", body)
		assert.Empty(t, tr.idleConns(), "Connection: %s, yet the connection was kept", field)
	}
	get(t, tr, url)
	assert.EqualValues(t, 3, accepted(), "each request after a Connection: close has a new connection")
}

// A status code below 100 is not an informational response (RFC 9110,
// section 15: a status code is a number from 100 to 599): it is an error,
// neither skipped nor passed on as a 1xx (the ReverseProxy's
// WriteHeader(0) would panic), and the connection is not kept.
func TestAStatusBelow100IsAnError(t *testing.T) {
	for _, status := range []string{"000", "099"} {
		url, _ := sameAnswer(t, "HTTP/1.1 "+status+" Odd\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
		tr := &Transport{Fallback: &fallback{}}
		var told []int
		trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
			told = append(told, code)
			return nil
		}}
		for _, listen := range []bool{false, true} {
			req := mustRequest(t, "GET", url)
			if listen {
				req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
			}
			resp, err := tr.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
			}
			require.Error(t, err, "status %s, a listener: %v", status, listen)
			assert.ErrorContains(t, err, "status code")
			assert.Empty(t, tr.idleConns())
		}
		assert.Empty(t, told, "status %s was passed on as a 1xx", status)
	}
}

// A response with both Transfer-Encoding and Content-Length is read by
// its chunked coding, the Transfer-Encoding overriding (RFC 9112, section
// 6.3, rule 3), but its framing is in doubt, "ought to be handled as an
// error": its connection is not kept. Nor is that of an HTTP/1.0 response
// with a Transfer-Encoding, which the RFC calls faulty framing, to be
// closed after the message (section 6.1). Neither field alone, nor a
// field value that merely names the other, condemns a connection.
func TestADoubtfulFramingIsNotKept(t *testing.T) {
	for _, tc := range []struct {
		name, answer string
		kept         bool
	}{
		{"te then cl", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n5\r\nhello\r\n0\r\n\r\n", false},
		{"cl then te", "HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", false},
		{"after a 1xx", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", false},
		{"http/1.0 te", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello", false},
		{"chunked alone", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Note: Content-Length: 3\r\n\r\n5\r\nhello\r\n0\r\n\r\n", true},
		{"length alone", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Note: Transfer-Encoding: chunked\r\n\r\nhello", true},
		{"1xx with a length", "HTTP/1.1 103 Early Hints\r\nContent-Length: 3\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", true},
	} {
		url, _ := sameAnswer(t, tc.answer)
		tr := &Transport{Fallback: &fallback{}}
		code, body := get(t, tr, url)
		assert.Equal(t, 200, code, tc.name)
		assert.Equal(t, "hello", body, tc.name)
		assert.Equal(t, tc.kept, len(tr.idleConns()) == 1, "%s: kept", tc.name)
		tr.CloseIdleConnections()
	}
}

// An HTTP/1.0 answer with a Transfer-Encoding and no Content-Length is in
// doubt too. With a body, net/http reads it to the connection's end, which
// closes it anyway; without one (the answer to a HEAD, a 204) nothing else
// would stop the connection from being kept, though the backend may have
// meant a chunked body that is still to come.
func TestAnHTTP10TransferEncodingWithoutABodyIsNotKept(t *testing.T) {
	for _, tc := range []struct{ method, answer string }{
		{"HEAD", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"},
		{"GET", "HTTP/1.0 204 No Content\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"},
	} {
		url, _ := sameAnswer(t, tc.answer)
		tr := &Transport{Fallback: &fallback{}}
		code, _ := do(t, tr, mustRequest(t, tc.method, url))
		assert.NotZero(t, code, tc.method)
		assert.Empty(t, tr.idleConns(), "%s: %q was kept", tc.method, tc.answer)
		tr.CloseIdleConnections()
	}
	// Without the Transfer-Encoding, the same HTTP/1.0 answer is kept.
	url, _ := sameAnswer(t, "HTTP/1.0 204 No Content\r\nConnection: keep-alive\r\n\r\n")
	tr := &Transport{Fallback: &fallback{}}
	defer tr.CloseIdleConnections()
	code, _ := do(t, tr, mustRequest(t, "GET", url))
	assert.Equal(t, 204, code)
	assert.Len(t, tr.idleConns(), 1)
}

// A field line http.ReadResponse lets pass but a proxy must not forward
// as it is, a name with a space before its colon or a line folded onto
// the one before (RFC 9112, sections 5.1 and 5.2), makes the response an
// error, whose connection is not kept. Go reads "Content-Length : 3" as a
// field named "Content-Length " and frames the body without it, though
// the backend may have meant that length (see framedBy). In a 1xx passed
// on to a listener too. (A tab there Go refuses itself.) A
// colon in the reason phrase or in a value is fine.
func TestAFieldWithWhitespaceBeforeItsColonIsAnError(t *testing.T) {
	const ours = "RFC 9112, sections 5.1 and 5.2"
	for _, tc := range []struct {
		name, answer string
		listen       bool
		want         string // in the error; "" for none
	}{
		{"space", "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello", false, ours},
		{"space, chunked", "HTTP/1.1 200 OK\r\nContent-Length : 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", false, ours},
		{"space in another name", "HTTP/1.1 200 OK\r\nX-A b: 1\r\nContent-Length: 5\r\n\r\nhello", false, ours},
		{"folded", "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\nContent-Length: 5\r\n\r\nhello", false, ours},
		{"in a 1xx passed on", "HTTP/1.1 103 Early Hints\r\nLink : </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", true, ours},
		{"folded, in a 1xx passed on", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n </b>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", true, ours},
		{"folded, in a 1xx skipped", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n </b>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, ""},
		{"tab", "HTTP/1.1 200 OK\r\nContent-Length\t: 5\r\n\r\nhello", false, "malformed MIME header line"},
		{"colons elsewhere", "HTTP/1.1 200 OK: fine\r\nX-Note: a b : c\r\nContent-Length: 5\r\n\r\nhello", false, ""},
		{"in a 1xx skipped", "HTTP/1.1 103 Early Hints\r\nLink : </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, ""},
	} {
		url, _ := sameAnswer(t, tc.answer)
		tr := &Transport{Fallback: &fallback{}}
		req := mustRequest(t, "GET", url)
		if tc.listen {
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
				Got1xxResponse: func(int, textproto.MIMEHeader) error { return nil },
			}))
		}
		resp, err := tr.RoundTrip(req)
		if tc.want == "" {
			if assert.NoError(t, err, tc.name) {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				assert.Equal(t, "hello", string(b), tc.name)
			}
			tr.CloseIdleConnections()
			continue
		}
		if err == nil {
			resp.Body.Close()
		}
		assert.ErrorContains(t, err, tc.want, tc.name)
		assert.Empty(t, tr.idleConns(), "%s: kept", tc.name)
	}
}
