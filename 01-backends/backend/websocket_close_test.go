package backend_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
)

// TestWebSocketHandshakeAnswersTheRFCExample: RFC 6455 section 1.3's own
// example, key "dGhlIHNhbXBsZSBub25jZQ==", is answered with
// "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=". The course's client computes the answer
// it expects the way the server does, so only a value from outside can
// catch a wrong GUID or encoding in both.
func TestWebSocketHandshakeAnswersTheRFCExample(t *testing.T) {
	_, _, resp := handshake(t)
	assert.Equal(t, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", resp.Header.Get("Sec-WebSocket-Accept"))
	assert.Equal(t, "websocket", resp.Header.Get("Upgrade"))
	assert.Equal(t, "Upgrade", resp.Header.Get("Connection"))
	assert.Equal(t, "A", resp.Header.Get(backend.HeaderName), "the backend's name, as on every answer")
}

// RFC 6455 section 5.5.1: the echo answers a Close with a Close, echoing
// the client's status code (none if it sent none), then closes the
// connection: the server is the one that ends the TCP connection.
func TestWebSocketCloseIsAnsweredAndTheConnectionEnds(t *testing.T) {
	for name, tc := range map[string]struct{ sent, want string }{
		"status and reason": {sent: status(1000) + "bye", want: status(1000)},
		"status only":       {sent: status(4000), want: status(4000)},
		"no status":         {sent: "", want: ""},
	} {
		t.Run(name, func(t *testing.T) {
			conn, r := rawWebSocket(t)
			_, err := conn.Write(frame(t, true, backend.OpClose, tc.sent, mask))
			require.NoError(t, err)
			op, payload, err := backend.ReadFrame(r)
			require.NoError(t, err)
			assert.Equal(t, byte(backend.OpClose), op, "the answer to a Close")
			assert.Equal(t, tc.want, string(payload), "the Close's payload")
			assertEnds(t, conn, r)
		})
	}
}

// TestWebSocketMessageSizeLimit: a message of MaxFrame bytes is echoed;
// one byte more, in one frame or in fragments, is answered with a Close
// of status 1009 (message too big, RFC 6455 section 7.4.1), then the end
// of the connection.
func TestWebSocketMessageSizeLimit(t *testing.T) {
	t.Run("MaxFrame bytes are echoed", func(t *testing.T) {
		conn, r := rawWebSocket(t)
		msg := strings.Repeat("m", backend.MaxFrame)
		_, err := conn.Write(frame(t, true, backend.OpBinary, msg, mask))
		require.NoError(t, err)
		op, payload, err := backend.ReadFrame(r)
		require.NoError(t, err)
		assert.Equal(t, byte(backend.OpBinary), op)
		assert.Equal(t, len(msg), len(payload))
	})
	half := strings.Repeat("h", backend.MaxFrame/2)
	for name, frames := range map[string][][]byte{
		// The frame's head alone (2 bytes, a 64-bit length, the mask):
		// the echo refuses it by its length and reads no further, and a
		// payload it never read would make its close a reset on some
		// systems, which can discard the Close before the test reads it.
		"one frame": {frame(t, true, backend.OpBinary, strings.Repeat("x", backend.MaxFrame+1), mask)[:2+8+4]},
		"fragments": {frame(t, false, backend.OpText, half, mask), frame(t, true, opContinuation, half+"!", mask)},
	} {
		t.Run(name+" of MaxFrame+1 bytes", func(t *testing.T) {
			conn, r := rawWebSocket(t)
			go func() { // the echo may stop reading: write from aside
				for _, f := range frames {
					if _, err := conn.Write(f); err != nil {
						return
					}
				}
			}()
			assertClosedWith(t, conn, r, 1009)
		})
	}
}

// Every broken rule of RFC 6455 is answered with a Close of status 1002
// (protocol error) that says which, then the end of the connection.
func TestWebSocketProtocolErrorsClose(t *testing.T) {
	withRSV := frame(t, true, backend.OpText, "x", mask)
	withRSV[0] |= 0x40
	for name, sent := range map[string][]byte{
		"reserved bit set":              withRSV,
		"unknown opcode":                frame(t, true, 0x3, "x", mask),
		"continuation of nothing":       frame(t, true, opContinuation, "x", mask),
		"new message mid-message":       append(frame(t, false, backend.OpText, "a", mask), frame(t, true, backend.OpText, "b", mask)...),
		"fragmented control frame":      frame(t, false, backend.OpPing, "x", mask),
		"control frame over 125 bytes":  frame(t, true, backend.OpPing, strings.Repeat("p", 126), mask),
		"close status of one byte only": frame(t, true, backend.OpClose, "\x03", mask),
		"close status 1005 (none sent)": frame(t, true, backend.OpClose, status(1005), mask),
		"close status 999":              frame(t, true, backend.OpClose, status(999), mask),
		"close status 2000 (reserved)":  frame(t, true, backend.OpClose, status(2000), mask),
		"close status 1015 (TLS fail)":  frame(t, true, backend.OpClose, status(1015), mask),
		"close status 5000":             frame(t, true, backend.OpClose, status(5000), mask),
	} {
		t.Run(name, func(t *testing.T) {
			conn, r := rawWebSocket(t)
			_, err := conn.Write(sent)
			require.NoError(t, err)
			assertClosedWith(t, conn, r, 1002)
		})
	}
}

// RFC 6455 section 8.1: a text message must be UTF-8; one that is not,
// whole or across fragments, is answered with a Close of status 1007, not
// echoed. A character split between two fragments is fine.
func TestWebSocketTextMustBeUTF8(t *testing.T) {
	conn, r := rawWebSocket(t)
	_, err := conn.Write(append(frame(t, false, backend.OpText, "caf\xc3", mask), frame(t, true, opContinuation, "\xa9", mask)...))
	require.NoError(t, err)
	op, payload, err := backend.ReadFrame(r)
	require.NoError(t, err)
	assert.Equal(t, byte(backend.OpText), op)
	assert.Equal(t, "café", string(payload), "a character split between fragments")

	_, err = conn.Write(frame(t, true, backend.OpText, "caf\xc3", mask))
	require.NoError(t, err)
	assertClosedWith(t, conn, r, 1007)
}

// A Close's reason is UTF-8 too (section 5.5.1); one that is not is
// answered with 1007, not with the client's status.
func TestWebSocketCloseReasonMustBeUTF8(t *testing.T) {
	conn, r := rawWebSocket(t)
	_, err := conn.Write(frame(t, true, backend.OpClose, status(1000)+"caf\xc3", mask))
	require.NoError(t, err)
	assertClosedWith(t, conn, r, 1007)
}

// An unsolicited Pong (a client's heartbeat, RFC 6455 section 5.5.3) is
// not answered, and the connection goes on.
func TestWebSocketUnsolicitedPongIsIgnored(t *testing.T) {
	conn, r := rawWebSocket(t)
	_, err := conn.Write(append(frame(t, true, backend.OpPong, "beat", mask), frame(t, true, backend.OpText, "after", mask)...))
	require.NoError(t, err)
	op, payload, err := backend.ReadFrame(r)
	require.NoError(t, err)
	assert.Equal(t, byte(backend.OpText), op, "the first frame back answers the text, not the Pong")
	assert.Equal(t, "after", string(payload))
}

// A request to /ws that is not a WebSocket handshake is a 400 that says
// what is missing, and nothing is switched (RFC 6455 section 4.2.1). A
// key must be 16 bytes in base64; /ws takes GET only.
func TestWebSocketBadHandshakesAreRefused(t *testing.T) {
	srv := httptest.NewServer(backend.New("A"))
	defer srv.Close()
	good := http.Header{
		"Connection":            {"Upgrade"},
		"Upgrade":               {"websocket"},
		"Sec-Websocket-Version": {"13"},
		"Sec-Websocket-Key":     {"dGhlIHNhbXBsZSBub25jZQ=="},
	}
	for name, tc := range map[string]struct {
		method, drop, key string
		want              int
	}{
		"no Connection: Upgrade":  {drop: "Connection", want: http.StatusBadRequest},
		"no Upgrade: websocket":   {drop: "Upgrade", want: http.StatusBadRequest},
		"no key":                  {drop: "Sec-Websocket-Key", want: http.StatusBadRequest},
		"a key that is no base64": {key: "not base64!", want: http.StatusBadRequest},
		"a key of 8 bytes":        {key: "AAAAAAAAAAA=", want: http.StatusBadRequest},
		"POST":                    {method: http.MethodPost, want: http.StatusMethodNotAllowed},
	} {
		t.Run(name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			req, err := http.NewRequest(method, srv.URL+"/ws", nil)
			require.NoError(t, err)
			req.Header = good.Clone()
			req.Header.Del(tc.drop)
			if tc.key != "" {
				req.Header.Set("Sec-Websocket-Key", tc.key)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			if resp.StatusCode == http.StatusSwitchingProtocols {
				resp.Body.Close() // an open tunnel: reading its body would wait for ever
				t.Fatalf("the handshake was accepted")
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			assert.Equal(t, tc.want, resp.StatusCode, "%s", body)
			if tc.want == http.StatusBadRequest {
				assert.Contains(t, string(body), "WebSocket handshake", "the body says why")
			}
			if tc.want == http.StatusMethodNotAllowed {
				assert.Equal(t, "GET", resp.Header.Get("Allow"), "HEAD is refused too")
			}
		})
	}
}

// handshake performs the handshake with RFC 6455's example key by hand
// and returns the connection and the server's 101.
func handshake(t *testing.T) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	srv := httptest.NewServer(backend.New("A"))
	t.Cleanup(srv.Close)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	// A bound on a test that would otherwise hang, not a timing.
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/ws", nil)
	require.NoError(t, err)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	require.NoError(t, req.Write(conn))
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, req)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	return conn, r, resp
}

// status is a Close frame's status code as its two bytes.
func status(code uint16) string { return string(binary.BigEndian.AppendUint16(nil, code)) }

// assertClosedWith reads until a Close frame and checks its status code
// and that a reason follows it, then that the connection ends.
func assertClosedWith(t *testing.T, conn net.Conn, r *bufio.Reader, code uint16) {
	t.Helper()
	op, payload, err := backend.ReadFrame(r)
	require.NoError(t, err, "the Close frame must reach the client")
	require.Equal(t, byte(backend.OpClose), op, "the answer: %q", payload)
	require.GreaterOrEqual(t, len(payload), 2, "a Close with a status")
	assert.Equal(t, code, binary.BigEndian.Uint16(payload), "the status; reason %q", payload[2:])
	assert.NotEmpty(t, payload[2:], "a reason that says what was wrong")
	assertEnds(t, conn, r)
}

// assertEnds checks that the server ends the connection after its Close:
// nothing more arrives, and the read sees the end.
func assertEnds(t *testing.T, conn net.Conn, r *bufio.Reader) {
	t.Helper()
	_, err := r.ReadByte()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the connection was still open 10s after the Close")
	}
	assert.Error(t, err, "nothing after the Close frame")
}
