package proxy_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// patience bounds how long a test waits for something that should happen
// at once; reaching it means the behaviour is missing, not that it is slow.
const patience = 10 * time.Second

// A streamed answer reaches the client piece by piece: the client reads
// the first piece while the backend is still holding back the last one.
// The ReverseProxy flushes after every write when the backend's answer has
// no Content-Length (chunked, as /stream sends it) or is text/event-stream.
// A proxy that buffered the answer would make this test wait forever for
// the first piece, and fail after patience.
func TestStreamingIsNotBuffered(t *testing.T) {
	tests := []struct {
		name, contentType, first, last string
	}{
		{"chunked lines", "text/plain; charset=utf-8", "line 1 of 2\n", "line 2 of 2\n"},
		{"server-sent events", "text/event-stream", "id: 1\ndata: event 1 of 2\n\n", "id: 2\ndata: event 2 of 2\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{}) // closed once the client has the first piece
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				io.WriteString(w, tt.first)
				http.NewResponseController(w).Flush()
				select {
				case <-release:
				case <-r.Context().Done():
					return
				}
				io.WriteString(w, tt.last)
			})
			front, _ := chain(t, h, "")

			resp, err := front.Client().Get(front.URL + "/stream")
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, tt.contentType, resp.Header.Get("Content-Type"))

			first := make(chan string, 1)
			go func() {
				buf := make([]byte, len(tt.first))
				n, _ := io.ReadFull(resp.Body, buf)
				first <- string(buf[:n])
			}()
			select {
			case got := <-first:
				assert.Equal(t, tt.first, got)
			case <-time.After(patience):
				t.Fatalf("the first piece did not reach the client while the backend held back the last: the proxy buffers")
			}
			close(release)
			rest, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tt.last, string(rest))
		})
	}
}
