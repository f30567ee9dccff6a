package rewrite

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawAnswer serves answer, as it is, to every request on every connection
// and returns its URL.
func rawAnswer(t *testing.T, answer string) string {
	return "http://" + rawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			io.WriteString(c, answer)
		}
	})
}

// trailerSection sends GET / to the proxy at base and returns the header
// and the trailer section of its chunked answer as they came off the wire.
func trailerSection(t *testing.T, base string) (header, trailers string) {
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second))) // a bound on a test that would hang, not a timing
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	require.NoError(t, err)
	raw, err := io.ReadAll(conn)
	require.NoError(t, err)
	header, _, _ = strings.Cut(string(raw), "\r\n\r\n")
	_, trailers, ok := strings.Cut(string(raw), "\r\n0\r\n")
	require.True(t, ok, "no last chunk in %q", raw)
	return header, trailers
}

// trailerLine returns header's Trailer field line, or "".
func trailerLine(header string) string {
	for line := range strings.SplitSeq(header, "\r\n") {
		if strings.HasPrefix(line, "Trailer:") {
			return line
		}
	}
	return ""
}

// TestTrailersThatOnlyAHeaderMayCarryAreDropped: a backend's trailer
// fields that RFC 9110 (section 6.5.1) allows only in a header section
// (framing, routing, authentication, content format) and the hop-by-hop
// ones do not reach the client; the others do. net/http's server drops
// them itself from the trailers a handler declares, but not from those
// the ReverseProxy passes on undeclared (http.TrailerPrefix), which it
// does for every trailer as soon as one was not announced: the client got
// "Content-Length: 5" and "Transfer-Encoding: chunked" after the last
// chunk. Nor does the Trailer field announce them.
func TestTrailersThatOnlyAHeaderMayCarryAreDropped(t *testing.T) {
	const forbidden = "Content-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nKeep-Alive: timeout=5\r\nContent-Type: text/html\r\nHost: evil.example\r\nAuthorization: Basic eDp5\r\nTrailer: X-More\r\n"
	for name, answer := range map[string]string{
		"none announced": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Checksum: abc\r\n" + forbidden + "\r\n",
		"one announced":  "HTTP/1.1 200 OK\r\nTrailer: X-Checksum\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Checksum: abc\r\n" + forbidden + "\r\n",
		// (http.Transport refuses a response that announces
		// Content-Length, Transfer-Encoding or Trailer itself.)
		"all announced": "HTTP/1.1 200 OK\r\nTrailer: X-Checksum, Connection, Keep-Alive, Host\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Checksum: abc\r\nConnection: close\r\nKeep-Alive: timeout=5\r\nHost: evil.example\r\n\r\n",
	} {
		for _, opts := range []Options{{}, {Transform: Upper}} {
			header, trailers := trailerSection(t, startProxy(t, New(mustParse(t, rawAnswer(t, answer)), opts)))
			assert.Equal(t, "X-Checksum: abc\r\n\r\n", trailers, "%s, Transform %v", name, opts.Transform != nil)
			announced := "Trailer: X-Checksum"
			if name == "none announced" {
				announced = ""
			}
			assert.Equal(t, announced, trailerLine(header), "%s, Transform %v", name, opts.Transform != nil)
		}
	}
}
