package proxy_test

import (
	"context"
	"io"
	"net/http"
	"sync"
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
// The whole exchange runs under a deadline of patience: a proxy that
// buffered the answer would hold back the headers or the first piece
// until the backend finished, which it does not do before the client has
// the first piece, so the request fails at the deadline instead of hanging.
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
			var releaseOnce sync.Once
			releaseBackend := func() { releaseOnce.Do(func() { close(release) }) }
			defer releaseBackend() // also when the test fails early
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

			ctx, cancel := context.WithTimeout(context.Background(), patience)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, front.URL+"/stream", nil)
			require.NoError(t, err)
			resp, err := front.Client().Do(req)
			require.NoError(t, err, "no answer within %v while the backend held back its last piece: the proxy buffers", patience)
			defer resp.Body.Close()
			assert.Equal(t, tt.contentType, resp.Header.Get("Content-Type"))

			buf := make([]byte, len(tt.first))
			n, err := io.ReadFull(resp.Body, buf)
			require.NoError(t, err, "the first piece did not reach the client within %v while the backend held back the last (got %q): the proxy buffers", patience, buf[:n])
			assert.Equal(t, tt.first, string(buf))

			releaseBackend()
			rest, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tt.last, string(rest))
		})
	}
}
