package backend_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/01-backends/deadaddr"
	"github.com/gocourse/gateway/01-backends/serve"
)

func TestListenStartsNamedBackends(t *testing.T) {
	var g serve.Group
	urls, err := backend.Listen(&g, []string{"127.0.0.1:0", "127.0.0.1:0"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()

	for i, u := range urls {
		_, body := get(t, u+"/")
		assert.Equal(t, "Hello from backend "+backend.Name(i)+"\n", body)
	}
	cancel()
	assert.NoError(t, <-done)
}

// An empty port, as net.Listen takes it, asks for a free port as 0 does:
// given twice, it is two backends, not an address given twice.
func TestListenTakesAnEmptyPortAsAnyPort(t *testing.T) {
	var g serve.Group
	urls, err := backend.Listen(&g, []string{"127.0.0.1:", "127.0.0.1:"})
	require.NoError(t, err)
	defer g.Close()
	assert.Len(t, urls, 2)
	assert.NotEqual(t, urls[0], urls[1])
}

func TestListenReportsABusyAddressAndClosesTheRest(t *testing.T) {
	var g serve.Group
	urls, err := backend.Listen(&g, []string{"127.0.0.1:0"})
	require.NoError(t, err)
	defer g.Close()
	busy := urls[0][len("http://"):]

	// A free address to open first, and again below. Reserve keeps its
	// port from other tests in between: a port the system picked and let
	// go could be another test's server's by then.
	free := deadaddr.Reserve(t)

	var g2 serve.Group
	_, err = backend.Listen(&g2, []string{free, busy})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot listen on "+busy)

	// Listen opened free before it failed on busy: it must have closed it.
	ln, err := serve.Listen(free)
	if assert.NoError(t, err, "the address opened before the busy one was left open") {
		ln.Close()
	}
}

func TestNames(t *testing.T) {
	assert.Equal(t, []string{"A", "B", "Z", "AA", "AZ", "BA"}, []string{backend.Name(0), backend.Name(1), backend.Name(25), backend.Name(26), backend.Name(51), backend.Name(52)})
}
