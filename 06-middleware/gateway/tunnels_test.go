package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/01-backends/serve"
)

// fakeDrainClock replaces the clock of Run's wait for upgraded
// connections with a channel the test closes: the bound "passes" when the
// test says so. It returns that channel's closer and what was asked for.
func fakeDrainClock(t *testing.T) (pass func(), asked <-chan time.Duration) {
	t.Helper()
	fire, ask := make(chan time.Time), make(chan time.Duration, 1)
	old := drainAfter
	drainAfter = func(d time.Duration) <-chan time.Time { ask <- d; return fire }
	t.Cleanup(func() { drainAfter = old })
	return func() { close(fire) }, ask
}

// openWebSocket opens a WebSocket through the gateway at url and checks
// that it echoes.
func openWebSocket(t *testing.T, url string) *backend.WebSocket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, err := backend.DialWebSocket(ctx, url+"/ws")
	require.NoError(t, err)
	t.Cleanup(func() { ws.Close() })
	echoes(t, ws, "hello")
	return ws
}

func echoes(t *testing.T, ws *backend.WebSocket, msg string) {
	t.Helper()
	require.NoError(t, ws.Send(msg))
	got, err := ws.Receive()
	require.NoError(t, err)
	require.Contains(t, got, msg)
}

// TestShutdownWaitsForAWebSocketThenClosesIt: a WebSocket is a request in
// flight, whose connection net/http has handed over (hijacked), so that
// http.Server.Shutdown neither waits for it nor closes it. Run waits for
// it as for any request, within serve.ShutdownTimeout, and then closes it
// and says so; before, Run returned at once, "stopped" and clean, and the
// tunnel went on carrying messages after the gateway was closed.
func TestShutdownWaitsForAWebSocketThenClosesIt(t *testing.T) {
	pass, asked := fakeDrainClock(t)
	srvs := backends(t, 1)
	url, _, stop := runFile(t, fill("pools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p}]\n", srvs))
	ws := openWebSocket(t, url)

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	waitListenerClosed(t, url) // shutdown has begun
	echoes(t, ws, "during the drain")
	select {
	case err := <-stopped:
		t.Fatalf("the program stopped with a WebSocket open: %v", err)
	default:
	}
	assert.Equal(t, serve.ShutdownTimeout, receive(t, asked, "the drain's bound to start"))

	pass()
	closed := make(chan error, 1)
	go func() { _, err := ws.Receive(); closed <- err }()
	assert.Error(t, receive(t, closed, "the WebSocket to be closed"), "the tunnel is closed at the bound")
	err := receive(t, stopped, "the program to stop")
	assert.ErrorIs(t, err, serve.ErrCutOff)
	assert.ErrorContains(t, err, "upgraded connection")
}

// TestShutdownEndsWhenTheLastWebSocketCloses: a drain waits for the
// WebSockets still open, and no longer: once the last is closed, the
// program stops, cleanly, without waiting for the bound.
func TestShutdownEndsWhenTheLastWebSocketCloses(t *testing.T) {
	fakeDrainClock(t) // never passes
	srvs := backends(t, 1)
	url, _, stop := runFile(t, fill("pools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p}]\n", srvs))
	ws := openWebSocket(t, url)

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	waitListenerClosed(t, url)
	echoes(t, ws, "during the drain")
	require.NoError(t, ws.Close())
	assert.NoError(t, receive(t, stopped, "the program to stop"))
}
