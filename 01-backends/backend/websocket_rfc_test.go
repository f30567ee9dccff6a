package backend_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
)

// opContinuation is the opcode of a message's second and later fragments.
const opContinuation = 0x0

var mask = []byte{1, 2, 3, 4}

// rawWebSocket performs the handshake by hand and returns the connection,
// so that a test can send frames the course's client never sends.
func rawWebSocket(t *testing.T) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, r, _ := handshake(t)
	return conn, r
}

// frame is one frame as bytes; final false clears its FIN bit.
func frame(t *testing.T, final bool, op byte, payload string, mask []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, backend.WriteFrame(&b, op, []byte(payload), mask))
	if !final {
		b.Bytes()[0] &^= 0x80
	}
	return b.Bytes()
}

// RFC 6455 section 5.5.2: a Ping is answered by a Pong with the same
// payload. (A Ping sent back would leave a client's keep-alive waiting.)
func TestWebSocketPingIsAnsweredWithPong(t *testing.T) {
	conn, r := rawWebSocket(t)
	_, err := conn.Write(frame(t, true, backend.OpPing, "are you there", mask))
	require.NoError(t, err)
	op, payload, err := backend.ReadFrame(r)
	require.NoError(t, err)
	assert.Equal(t, byte(backend.OpPong), op, "opcode of the answer to a Ping")
	assert.Equal(t, "are you there", string(payload))
}

// RFC 6455 section 5.1: a server must close the connection on a frame a
// client did not mask; the echo says why with status 1002 (protocol error).
func TestWebSocketUnmaskedClientFrameClosesTheConnection(t *testing.T) {
	conn, r := rawWebSocket(t)
	_, err := conn.Write(frame(t, true, backend.OpText, "not masked", nil))
	require.NoError(t, err)
	op, payload, err := backend.ReadFrame(r)
	require.NoError(t, err)
	assert.Equal(t, byte(backend.OpClose), op, "the answer to an unmasked frame")
	if assert.GreaterOrEqual(t, len(payload), 2) {
		assert.Equal(t, uint16(1002), binary.BigEndian.Uint16(payload))
	}
}

// RFC 6455 section 5.4: a message may come in fragments, with control
// frames between them. The echo answers the Ping at once and echoes the
// message whole.
func TestWebSocketFragmentedMessageIsEchoedWhole(t *testing.T) {
	conn, r := rawWebSocket(t)
	var b []byte
	b = append(b, frame(t, false, backend.OpText, "hel", mask)...)
	b = append(b, frame(t, true, backend.OpPing, "p", mask)...)
	b = append(b, frame(t, false, opContinuation, "lo, ", mask)...)
	b = append(b, frame(t, true, opContinuation, "world", mask)...)
	_, err := conn.Write(b)
	require.NoError(t, err)
	op, payload, err := backend.ReadFrame(r)
	require.NoError(t, err)
	assert.Equal(t, byte(backend.OpPong), op, "the Ping between the fragments is answered first")
	assert.Equal(t, "p", string(payload))
	op, payload, err = backend.ReadFrame(r)
	require.NoError(t, err)
	assert.Equal(t, byte(backend.OpText), op)
	assert.Equal(t, "hello, world", string(payload))
}

// RFC 6455 section 4.2.2: a handshake that asks for a version other than
// 13, or for none, is refused with 426 Upgrade Required and the version
// the echo speaks, so that the client can try again with it; it does not
// get a 101 for a protocol it may not speak.
func TestWebSocketOtherVersionsAreRefused(t *testing.T) {
	srv := httptest.NewServer(backend.New("A"))
	defer srv.Close()
	for _, version := range []string{"", "8", "14"} {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/ws", nil)
		require.NoError(t, err)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		if version != "" {
			req.Header.Set("Sec-WebSocket-Version", version)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		if resp.StatusCode == http.StatusSwitchingProtocols {
			resp.Body.Close() // an open tunnel: reading its body would wait for ever
			t.Errorf("version %q: the handshake was accepted", version)
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, http.StatusUpgradeRequired, resp.StatusCode, "version %q: %s", version, body)
		assert.Equal(t, "13", resp.Header.Get("Sec-WebSocket-Version"), "version %q: the version to send", version)
		assert.Equal(t, "websocket", resp.Header.Get("Upgrade"), "version %q: a 426 names the protocol", version)
		assert.Contains(t, string(body), "version 13", "version %q: the body says why", version)
	}
}
