// Package bodytest drives a BodyTimeout layer (package middleware) in
// tests: a client that sends part of a body and then nothing.
package bodytest

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// StalledPut sends to the server at url (http://host:port) a PUT of path
// with the extra header lines in header ("Name: value\r\n" each) and a
// Content-Length of len(body), sends the first sent bytes of body (as
// many as the server takes, if it answers first), then nothing, and
// returns the answer. The server's BodyTimeout must give it
// one: ten seconds bound a hang, they time nothing.
func StalledPut(t testing.TB, url, path, header string, body []byte, sent int) *http.Response {
	t.Helper()
	_, resp := StalledPutConn(t, url, path, header, body, sent)
	return resp
}

// StalledPutConn is StalledPut that also returns the connection, still
// silent, to see what the server does with it after the answer: read
// the answer's body first (the server sends nothing after it).
func StalledPutConn(t testing.TB, url, path, header string, body []byte, sent int) (net.Conn, *http.Response) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n%s\r\n", path, len(body), header); err != nil {
		t.Fatal(err)
	}
	// The server may answer, and close, before it has taken all of sent:
	// a BodyTimeout that ran out while a loaded machine held this write
	// answers 408, rightly. The answer is what counts; the failed write
	// is reported only if there is none.
	_, werr := conn.Write(body[:sent])
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v (the write: %v)", err, werr)
	}
	return conn, resp
}
