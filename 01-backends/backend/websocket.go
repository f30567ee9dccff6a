package backend

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// websocketGUID is the fixed string RFC 6455 section 1.3 mixes into the
// handshake key.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// websocketVersion is the one version of the protocol RFC 6455 defines,
// and the one a client must send in Sec-WebSocket-Version.
const websocketVersion = "13"

// MaxFrame bounds one WebSocket message the echo accepts, whole or in
// fragments.
const MaxFrame = 64 << 10

// websocketEcho is a minimal RFC 6455 server: it completes the handshake,
// then echoes each text or binary message back until the client closes. It
// is here so that later chapters can show a proxy passing an Upgrade
// through, but it keeps the protocol's rules a client relies on: a Ping is
// answered with a Pong, a message may come in fragments (with control
// frames between them), and a frame the client did not mask, or any other
// protocol error, closes the connection with a status that says so.
//
// A hijacked connection is the handler's alone: the server's timeouts no
// longer apply and Shutdown does not wait for it or close it. So each frame
// gets the time net/http gives an idle keep-alive connection to send its
// next request (idleTimeout: serve.NewServer's 2 minutes) to arrive and be
// echoed, and a client that goes quiet longer is closed; without that, it
// would hold a goroutine for ever.
func websocketEcho(w http.ResponseWriter, r *http.Request) {
	// RFC 6455 section 4.1: a handshake is a GET of HTTP/1.1 or later.
	// The route "/ws" takes every method, so that this 405's Allow, not
	// the mux's "GET, HEAD", names the one method that can switch: a HEAD,
	// whose answer has no body to carry a connection, or an HTTP/1.0
	// request is not switched (section 4.2.1 has a request that is not a
	// handshake refused).
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed: a WebSocket handshake is a GET", http.StatusMethodNotAllowed)
		return
	}
	key := r.Header.Get("Sec-WebSocket-Key")
	if !r.ProtoAtLeast(1, 1) || !headerHas(r.Header, "Connection", "upgrade") || !headerHas(r.Header, "Upgrade", "websocket") || key == "" {
		badRequest(w, "/ws wants a WebSocket handshake (HTTP/1.1, Connection: Upgrade, Upgrade: websocket, Sec-WebSocket-Key)")
		return
	}
	// RFC 6455 section 4.1: the key is a random 16-byte nonce in base64;
	// anything else is not a WebSocket client's, and section 4.2.1 has
	// such a handshake answered with a 400.
	if nonce, err := base64.StdEncoding.DecodeString(key); err != nil || len(nonce) != 16 {
		badRequest(w, "/ws wants a WebSocket handshake whose Sec-WebSocket-Key is 16 bytes in base64, not %q", key)
		return
	}
	// RFC 6455 section 4.2.2: a version the server does not speak (or
	// none) is refused with an HTTP error and the versions it does speak,
	// so that a client can try again with one of them; 13 is the only one.
	// A 426 names the protocol in Upgrade (RFC 9110 section 15.5.22), and
	// Upgrade is always sent with Connection: Upgrade (section 7.8).
	if v := r.Header.Get("Sec-WebSocket-Version"); v != websocketVersion {
		w.Header().Set("Sec-WebSocket-Version", websocketVersion)
		w.Header().Set("Upgrade", "websocket")
		w.Header().Set("Connection", "Upgrade")
		http.Error(w, fmt.Sprintf("upgrade required: /ws speaks WebSocket version %s (RFC 6455), not %q", websocketVersion, v), http.StatusUpgradeRequired)
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
	closeWith := func(payload []byte) {
		WriteFrame(rw.Writer, OpClose, payload, nil)
		rw.Flush()
	}
	var msgOp byte // the opcode of the message being reassembled, or 0
	var msg []byte
	for {
		if idle > 0 {
			conn.SetDeadline(time.Now().Add(idle))
		}
		f, err := readFrame(rw.Reader)
		if err == nil && !f.masked {
			err = protocolError("a client's frames must be masked")
		}
		if err != nil {
			closeWith(closeStatus(err))
			return
		}
		switch f.op {
		case OpClose:
			// Echo the status code, if the client sent one (section
			// 5.5.1); one byte is no code, and some codes must never be
			// sent (section 7.4).
			code, err := closeCode(f.payload)
			if err != nil {
				closeWith(closeStatus(err))
				return
			}
			closeWith(code)
			return
		case OpPing:
			if WriteFrame(rw.Writer, OpPong, f.payload, nil) != nil || rw.Flush() != nil {
				return
			}
			continue
		case OpPong: // unsolicited or late: nothing to answer
			continue
		case opContinuation:
			if msgOp == 0 {
				err = protocolError("a continuation frame with no message to continue")
			}
		case OpText, OpBinary:
			if msgOp != 0 {
				err = protocolError("a new message before the last one's final fragment")
			}
			msgOp = f.op
		default:
			err = protocolError(fmt.Sprintf("unknown opcode %#x", f.op))
		}
		if err == nil && len(msg)+len(f.payload) > MaxFrame {
			err = errTooLarge
		}
		if err != nil {
			closeWith(closeStatus(err))
			return
		}
		msg = append(msg, f.payload...)
		if !f.fin {
			continue
		}
		// Section 8.1: a text message is UTF-8, and one that is not
		// fails the connection; echoed, it would be the echo's error.
		if msgOp == OpText && !utf8.Valid(msg) {
			closeWith(closeStatus(errNotUTF8))
			return
		}
		if WriteFrame(rw.Writer, msgOp, msg, nil) != nil || rw.Flush() != nil {
			return
		}
		msgOp, msg = 0, nil
	}
}

// errTooLarge is a frame or message over MaxFrame: close status 1009.
var errTooLarge = errors.New("websocket: message too large")

// errNotUTF8 is a text message or a Close's reason that is not UTF-8:
// close status 1007.
var errNotUTF8 = errors.New("websocket: text that is not UTF-8")

// closeCode returns the status code of a client's Close frame, nil if it
// has none, or a protocolError if it is one byte long or a code RFC 6455
// section 7.4 does not let an endpoint send: below 1000, 1004 to 1006
// (reserved, or meaning "no Close frame was sent"), 1015, and 1016 to
// 2999, which only the RFC's registry may assign. 3000 to 4999 are for
// libraries and applications. A reason after the code must be UTF-8
// (section 5.5.1), or the Close is answered with 1007 (section 8.1).
func closeCode(payload []byte) ([]byte, error) {
	switch len(payload) {
	case 0:
		return nil, nil
	case 1:
		return nil, protocolError("a Close payload of one byte: a status code takes two")
	}
	c := binary.BigEndian.Uint16(payload)
	if (c < 1000 || c > 1003) && (c < 1007 || c > 1014) && (c < 3000 || c > 4999) {
		return nil, protocolError(fmt.Sprintf("close status %d is not one an endpoint may send", c))
	}
	if !utf8.Valid(payload[2:]) {
		return nil, errNotUTF8
	}
	return payload[:2], nil
}

// protocolError is a broken rule of RFC 6455: close status 1002.
type protocolError string

func (e protocolError) Error() string { return "websocket: " + string(e) }

// closeStatus is the payload of the Close frame that answers err: the
// status code of RFC 6455 section 7.4.1 and the reason.
func closeStatus(err error) []byte {
	code := uint16(1002) // protocol error
	switch {
	case errors.Is(err, errTooLarge):
		code = 1009
	case errors.Is(err, errNotUTF8):
		code = 1007
	}
	reason := err.Error()
	return append(binary.BigEndian.AppendUint16(nil, code), reason[:min(len(reason), 123)]...)
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
	opContinuation = 0x0
	OpText         = 0x1
	OpBinary       = 0x2
	OpClose        = 0x8
	OpPing         = 0x9
	OpPong         = 0xA
)

// ReadFrame reads one unfragmented frame and unmasks its payload.
func ReadFrame(r *bufio.Reader) (op byte, payload []byte, err error) {
	f, err := readFrame(r)
	if err != nil {
		return 0, nil, err
	}
	if !f.fin {
		return 0, nil, errors.New("websocket: fragmented frames are not supported")
	}
	return f.op, f.payload, nil
}

// A frame as read, its payload unmasked.
type frame struct {
	fin, masked bool
	op          byte
	payload     []byte
}

// readFrame reads one frame, refusing one over MaxFrame before reading its
// payload, and a control frame that breaks section 5.5's rules.
func readFrame(r *bufio.Reader) (f frame, err error) {
	var h [2]byte
	if _, err = io.ReadFull(r, h[:]); err != nil {
		return f, err
	}
	if h[0]&0x70 != 0 {
		return f, protocolError("reserved bits set, and no extension was agreed")
	}
	f.fin, f.op = h[0]&0x80 != 0, h[0]&0x0f
	n := uint64(h[1] & 0x7f)
	if f.op >= OpClose && (!f.fin || n > 125) {
		return f, protocolError("a control frame must be final and carry at most 125 bytes")
	}
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
		return f, err
	}
	if n > MaxFrame {
		return f, errTooLarge
	}
	var mask [4]byte
	f.masked = h[1]&0x80 != 0
	if f.masked {
		if _, err = io.ReadFull(r, mask[:]); err != nil {
			return f, err
		}
	}
	f.payload = make([]byte, n)
	if _, err = io.ReadFull(r, f.payload); err != nil {
		return f, err
	}
	if f.masked {
		for i := range f.payload {
			f.payload[i] ^= mask[i%4]
		}
	}
	return f, nil
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
