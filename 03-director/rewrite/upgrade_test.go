package rewrite

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
)

// every response option on, to check none of them breaks an upgrade.
func everything() Options {
	return Options{
		StripPrefix:         "/api",
		XForwarded:          true,
		Header:              http.Header{"X-Gateway": {"03-director"}},
		ResponseHeader:      http.Header{"X-Proxy": {"03-director"}},
		HideResponseHeaders: []string{"Server"},
		ErrorPages:          true,
		Transform:           Upper,
	}
}

func TestWebSocketPassesThrough(t *testing.T) {
	p := startProxy(t, New(startBackend(t, nil), everything()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, err := backend.DialWebSocket(ctx, p+"/api/ws")
	require.NoError(t, err)
	defer ws.Close()
	assert.Equal(t, "03-director", ws.Response.Header.Get("X-Proxy"), "the 101 response gets the response headers")

	for _, msg := range []string{"hello", "second message"} {
		require.NoError(t, ws.Send(msg))
		got, err := ws.Receive()
		require.NoError(t, err)
		assert.Equal(t, msg, got, "the upgraded connection is passed through byte for byte, never filtered")
	}
}

func TestSSEPassesThrough(t *testing.T) {
	p := startProxy(t, New(startBackend(t, nil), Options{StripPrefix: "/api"}))
	resp, body := get(t, p+"/api/sse?n=2&every=0s", nil, "")
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.Equal(t, "id: 1\ndata: event 1 of 2\n\nid: 2\ndata: event 2 of 2\n\n", body)
}

// TestSSEIsNotBuffered has the backend send one event and wait until the
// client has read it through the proxy.
func TestSSEIsNotBuffered(t *testing.T) {
	release := make(chan struct{})
	target := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: one\n\n")
		http.NewResponseController(w).Flush()
		select {
		case <-release:
			io.WriteString(w, "data: two\n\n")
		case <-r.Context().Done():
		}
	}))
	p := startProxy(t, New(target, Options{}))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p+"/", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	line, err := r.ReadString('\n')
	require.NoError(t, err, "the first event never came: the proxy buffered it")
	assert.Equal(t, "data: one\n", line)
	close(release)
	rest, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, "\ndata: two\n\n", string(rest))
}
