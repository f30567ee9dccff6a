package backend

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

// websocketGUID is the fixed string RFC 6455 section 1.3 mixes into the
// handshake key.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// MaxFrame bounds one WebSocket message the echo accepts.
const MaxFrame = 64 << 10

// websocketEcho is a minimal RFC 6455 server: it completes the handshake,
// then echoes each text or binary frame back until the client closes. It is
// here so that later chapters can show a proxy passing an Upgrade through;
// it handles unfragmented frames only, which is all a demo needs.
//
// A hijacked connection is the handler's alone: the server's timeouts no
// longer apply and Shutdown does not wait for it or close it. So each frame
// gets the time net/http gives an idle keep-alive connection to send its
// next request (idleTimeout: serve.NewServer's 2 minutes) to arrive and be
// echoed, and a client that goes quiet longer is closed; without that, it
// would hold a goroutine for ever.
func websocketEcho(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if !headerHas(r.Header, "Connection", "upgrade") || !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || key == "" {
		badRequest(w, "/ws wants a WebSocket handshake (Connection: Upgrade, Upgrade: websocket, Sec-WebSocket-Key)")
		return
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "websocket: cannot take over the connection: "+err.Error(), http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	var idle time.Duration
	if srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok {
		idle = idleTimeout(srv)
	}
	sum := sha1.Sum([]byte(key + websocketGUID))
	rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + base64.StdEncoding.EncodeToString(sum[:]) + "\r\n" +
		HeaderName + ": " + w.Header().Get(HeaderName) + "\r\n\r\n")
	if rw.Flush() != nil {
		return
	}
	for {
		if idle > 0 {
			conn.SetDeadline(time.Now().Add(idle))
		}
		op, payload, err := ReadFrame(rw.Reader)
		if err != nil || op == OpClose {
			WriteFrame(rw.Writer, OpClose, nil, nil)
			rw.Flush()
			return
		}
		if WriteFrame(rw.Writer, op, payload, nil) != nil || rw.Flush() != nil {
			return
		}
	}
}

// idleTimeout is how long srv lets an idle keep-alive connection wait,
// by net/http's rule: IdleTimeout, or ReadTimeout if IdleTimeout is zero.
// Zero or less is no limit.
func idleTimeout(srv *http.Server) time.Duration {
	if srv.IdleTimeout != 0 {
		return srv.IdleTimeout
	}
	return srv.ReadTimeout
}

// WebSocket opcodes used by the echo.
const (
	OpText   = 0x1
	OpBinary = 0x2
	OpClose  = 0x8
)

// ReadFrame reads one unfragmented frame and unmasks its payload.
func ReadFrame(r *bufio.Reader) (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	if h[0]&0x80 == 0 {
		return 0, nil, errors.New("websocket: fragmented frames are not supported")
	}
	op = h[0] & 0x0f
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		_, err = io.ReadFull(r, b[:])
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		_, err = io.ReadFull(r, b[:])
		n = binary.BigEndian.Uint64(b[:])
	}
	if err != nil {
		return 0, nil, err
	}
	if n > MaxFrame {
		return 0, nil, errors.New("websocket: frame too large")
	}
	var mask [4]byte
	masked := h[1]&0x80 != 0
	if masked {
		if _, err = io.ReadFull(r, mask[:]); err != nil {
			return 0, nil, err
		}
	}
	payload = make([]byte, n)
	if _, err = io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	if masked {
		for i := range payload {
			payload[i] ^= mask[i%4]
		}
	}
	return op, payload, nil
}

// WriteFrame writes one final frame. A client must mask what it sends
// (pass a 4-byte mask); a server must not (pass nil).
func WriteFrame(w io.Writer, op byte, payload, mask []byte) error {
	h := []byte{0x80 | op}
	m := byte(0)
	if mask != nil {
		m = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		h = append(h, m|byte(n))
	case n <= 0xffff:
		h = append(h, m|126)
		h = binary.BigEndian.AppendUint16(h, uint16(n))
	default:
		h = append(h, m|127)
		h = binary.BigEndian.AppendUint64(h, uint64(n))
	}
	body := payload
	if mask != nil {
		h = append(h, mask...)
		body = make([]byte, len(payload))
		for i := range payload {
			body[i] = payload[i] ^ mask[i%4]
		}
	}
	if _, err := w.Write(h); err != nil {
		return err
	}
	_, err := w.Write(body)
	return err
}

// headerHas reports whether the comma-separated header name lists token.
func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
