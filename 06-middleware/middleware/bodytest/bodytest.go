// Package bodytest drives a BodyTimeout layer (package middleware) in
// tests, with no real time: a fake clock that fires when the test says,
// and a client that sends part of a body and then nothing.
package bodytest

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gocourse/gateway/06-middleware/middleware"
)

// Clock is a fake body clock. It fires only when the test calls Fire,
// and it says on Resets when a Read has started it.
type Clock struct {
	fire   func()
	Resets chan struct{}
}

// Reset tells the test, unless it has a reset to handle already.
func (c *Clock) Reset(time.Duration) bool {
	select {
	case c.Resets <- struct{}{}:
	default:
	}
	return true
}

// Stop does nothing: a fake clock runs only when it is fired.
func (c *Clock) Stop() bool { return true }

// Fire calls the layer's callback, as time.AfterFunc would.
func (c *Clock) Fire() { c.fire() }

// Clocks returns an AfterFunc for a BodyTimeout layer, and the channel
// on which each clock it starts reaches the test.
func Clocks() (middleware.AfterFunc, <-chan *Clock) {
	clocks := make(chan *Clock, 16)
	return func(_ time.Duration, f func()) middleware.Timer {
		c := &Clock{fire: f, Resets: make(chan struct{}, 1)}
		clocks <- c
		return c
	}, clocks
}

// StalledPut sends to the server at url (http://host:port) a PUT of path
// with the extra header lines in header ("Name: value\r\n" each) and a
// Content-Length of len(body), sends the first sent bytes of body, and
// then nothing. It fires the first clock that clocks delivers each time
// a Read starts it (a fire while no Read waits does nothing, so the one
// that counts comes when the server waits for the bytes that never come),
// and returns the answer. Ten seconds bound a hang; they time nothing.
func StalledPut(t testing.TB, url, path, header string, body []byte, sent int, clocks <-chan *Clock) *http.Response {
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
	if _, err := conn.Write(body[:sent]); err != nil {
		t.Fatal(err)
	}
	var clock *Clock
	select {
	case clock = <-clocks:
	case <-time.After(10 * time.Second):
		t.Fatal("no body clock started in 10s")
	}
	type answer struct {
		resp *http.Response
		err  error
	}
	answers := make(chan answer, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		answers <- answer{resp, err}
	}()
	for {
		select {
		case <-clock.Resets:
			clock.Fire()
		case a := <-answers:
			if a.err != nil {
				t.Fatalf("no answer: %v", a.err)
			}
			return a.resp
		}
	}
}
