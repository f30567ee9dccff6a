package bodytest

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// A server may answer, and close the connection, before it has taken
// all of sent: here it reads none of a body far larger than the
// connection's buffers. The answer is what the caller asked for; the
// write that failed under it is not a reason to fail the test (a
// BodyTimeout that ran out while a loaded machine held the client
// mid-write answered 408 rightly, and StalledPut failed on the write).
func TestStalledPutReturnsAnAnswerThatCameBeforeTheWriteEnded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		http.Error(w, "too slow", http.StatusRequestTimeout)
	}))
	t.Cleanup(srv.Close)
	body := make([]byte, 16<<20) // far more than the buffers hold while nobody reads
	resp := StalledPut(t, srv.URL, "/upload", "", body, len(body)-1)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("got %d, want 408", resp.StatusCode)
	}
}
