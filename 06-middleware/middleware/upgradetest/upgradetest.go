// Package upgradetest drives a WebSocket upgrade through a proxy in tests,
// byte by byte, to read the 101 Switching Protocols as it comes over the
// wire: httputil.ReverseProxy writes that header itself on a hijacked
// connection, past the writers the middleware layers wrap.
package upgradetest

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Upstream starts a backend that answers any request with a 101 carrying
// its own X-Request-Id ("upstream-id") and "Access-Control-Allow-Origin: *",
// the fields a gateway's layers must replace, and then echoes the bytes
// it gets until the client closes. It stops when the test ends.
func Upstream(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"X-Request-Id: upstream-id\r\nAccess-Control-Allow-Origin: *\r\n\r\n")
		if rw.Flush() == nil {
			io.Copy(conn, rw) // the echo, until the client closes
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Upgrade sends a WebSocket upgrade from origin, with the request id
// "client-id", to srv (a proxy in front of Upstream), and returns the
// header of the 101 as it came over the wire, after checking that the
// connection then carries bytes both ways. Ten seconds bound a hang; they
// time nothing.
func Upgrade(t testing.TB, srv *httptest.Server, origin string) http.Header {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Origin", origin)
	req.Header.Set("X-Request-Id", "client-id")
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", resp.StatusCode)
	}
	if _, err := io.WriteString(conn, "ping\n"); err != nil {
		t.Fatal(err)
	}
	if echo, err := br.ReadString('\n'); err != nil || echo != "ping\n" {
		t.Fatalf("the upgraded connection carried %q back (%v), want \"ping\\n\"", echo, err)
	}
	return resp.Header
}
