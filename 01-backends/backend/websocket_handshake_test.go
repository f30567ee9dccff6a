package backend_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
)

// RFC 6455 section 4.1: a handshake is a GET of HTTP/1.1 or later. The
// route "GET /ws" lets HEAD in too, and net/http serves HTTP/1.0: each,
// with every WebSocket header right, must still not be switched. The
// requests are written by hand, since http.Client sends neither with an
// Upgrade.
func TestWebSocketHandshakeIsAGetOfHTTP11(t *testing.T) {
	srv := httptest.NewServer(backend.New("A"))
	defer srv.Close()
	for _, tc := range []struct {
		method, proto string
		want          int
		says          string
	}{
		{"HEAD", "HTTP/1.1", http.StatusMethodNotAllowed, ""}, // an answer to HEAD has no body
		{"GET", "HTTP/1.0", http.StatusBadRequest, "HTTP/1.1"},
	} {
		t.Run(tc.method+" "+tc.proto, func(t *testing.T) {
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			require.NoError(t, err)
			defer conn.Close()
			// A bound on a test that would otherwise hang, not a timing.
			require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
			_, err = io.WriteString(conn, tc.method+" /ws "+tc.proto+"\r\nHost: "+srv.Listener.Addr().String()+
				"\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"+
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
			require.NoError(t, err)
			resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: tc.method})
			require.NoError(t, err)
			require.NotEqual(t, http.StatusSwitchingProtocols, resp.StatusCode, "the handshake was accepted")
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tc.want, resp.StatusCode, "%s", body)
			assert.Contains(t, string(body), tc.says, "the body says why")
			if tc.want == http.StatusMethodNotAllowed {
				assert.Equal(t, "GET", resp.Header.Get("Allow"))
			}
		})
	}
}

// RFC 6455 section 5.1: a server must not mask what it sends; a client
// fails a connection on a masked frame. backend.ReadFrame unmasks
// whatever comes, so the echo's frame head is read byte by byte.
func TestWebSocketEchoIsNotMasked(t *testing.T) {
	conn, r := rawWebSocket(t)
	_, err := conn.Write(frame(t, true, backend.OpBinary, "abc", mask))
	require.NoError(t, err)
	head := make([]byte, 2)
	_, err = io.ReadFull(r, head)
	require.NoError(t, err)
	assert.Equal(t, byte(0x80|backend.OpBinary), head[0], "FIN and the opcode")
	assert.Equal(t, byte(len("abc")), head[1], "the length, and no mask bit (0x80)")
}

// RFC 6455 section 4.2.1: the handshake's Upgrade field contains
// "websocket", in any case; it may list other protocols beside it (RFC
// 9110, section 7.8), and the handshake is still one.
func TestWebSocketUpgradeMayListOtherProtocols(t *testing.T) {
	srv := httptest.NewServer(backend.New("A"))
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	// A bound on a test that would otherwise hang, not a timing.
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: "+srv.Listener.Addr().String()+
		"\r\nConnection: keep-alive, Upgrade\r\nUpgrade: foo/2, WebSocket\r\nSec-WebSocket-Version: 13\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: http.MethodGet})
	require.NoError(t, err)
	assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	assert.Equal(t, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", resp.Header.Get("Sec-WebSocket-Accept"), "the RFC's example answer")
}
