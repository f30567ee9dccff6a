//go:build !unix

package direct

import (
	"net"
	"net/http"
	"testing"
)

func waitForEOF(t *testing.T, _ *Transport) { t.Skip("alive cannot peek at a socket on this system") }

func waitReadable(t *testing.T, _ net.Conn) { t.Skip("alive cannot peek at a socket on this system") }

// Without a peek the direct path is off: every request goes to
// http.Transport (see canPeek), so the rest of this package's tests,
// which test the direct path, are skipped by TestMain.
func TestTakesNothingWithoutAPeek(t *testing.T) {
	req, err := http.NewRequest(http.MethodGet, "http://127.0.0.1:1/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if new(Transport).takes(req) {
		t.Error("takes a GET on a system where idle connections cannot be peeked at")
	}
}
