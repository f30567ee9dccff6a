package backend

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
)

// WebSocket is the client end of a connection to /ws, for tests that check
// a proxy passes an upgraded connection through.
type WebSocket struct {
	conn net.Conn
	r    *bufio.Reader
	// Response is the server's 101 response to the handshake.
	Response *http.Response
}

// DialWebSocket performs the RFC 6455 handshake with rawURL (http://host/ws)
// and checks the server's Sec-WebSocket-Accept.
func DialWebSocket(ctx context.Context, rawURL string) (*WebSocket, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	var nonce [16]byte
	rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", key)
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, err
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, req)
	if err != nil {
		conn.Close()
		return nil, err
	}
	sum := sha1.Sum([]byte(key + websocketGUID))
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		conn.Close()
		return nil, fmt.Errorf("websocket handshake with %s failed: %s", rawURL, resp.Status)
	}
	return &WebSocket{conn: conn, r: r, Response: resp}, nil
}

// Send sends one masked text message.
func (ws *WebSocket) Send(msg string) error {
	var mask [4]byte
	rand.Read(mask[:])
	return WriteFrame(ws.conn, OpText, []byte(msg), mask[:])
}

// Receive reads one message.
func (ws *WebSocket) Receive() (string, error) {
	_, payload, err := ReadFrame(ws.r)
	return string(payload), err
}

// Close closes the connection.
func (ws *WebSocket) Close() error { return ws.conn.Close() }
