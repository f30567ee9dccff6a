package main

import (
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/transcript"
)

// A request the gateway has taken when the program is told to stop is
// answered, not cut off: the servers behind the gateway keep serving
// until it has drained, and the metadata and data servers until the API
// servers have. Here a PUT's body is held back until the gateway has
// stopped taking connections; with every server shut down at once, the
// API servers (and the metadata server behind them) were gone by then,
// and the PUT was answered 502. The background loops run on until the
// metadata and data servers stop: a data server that stopped beating when
// the program was told to stop would be suspect, and given no new blobs,
// if the drain took longer than -timeout.
func TestStopDrainsFrontToBack(t *testing.T) {
	clk := newManualClock()
	out, stop := startStopOn(t, clk.clock(), "-listen", "127.0.0.1:0")
	gw := regexp.MustCompile(`gateway on http://(\S+)`).FindStringSubmatch(out)[1]

	body := &heldBody{reading: make(chan struct{}), release: make(chan struct{}), rest: strings.NewReader("sent while stopping")}
	release := sync.OnceFunc(func() { close(body.release) })
	t.Cleanup(release) // if the test fails before it sends the rest
	req, err := http.NewRequest(http.MethodPut, "http://"+gw+"/objects/draining", body)
	require.NoError(t, err)
	req.Header.Set("X-Api-Key", "demo-key")
	// The body goes only once a server reads it (100 Continue): its first
	// Read says the gateway is serving the request.
	req.Header.Set("Expect", "100-continue")
	tr := &http.Transport{ExpectContinueTimeout: time.Hour}
	defer tr.CloseIdleConnections()
	type answer struct {
		status int
		body   string
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answered <- answer{status: resp.StatusCode, body: string(b)}
	}()
	select {
	case <-body.reading:
	case a := <-answered:
		t.Fatalf("answered before the body was read: %+v", a)
	case <-time.After(transcript.Timeout):
		t.Fatal("the gateway never read the body")
	}

	stopped := make(chan struct{})
	go func() { defer close(stopped); stop() }()
	// Wait until the gateway stops taking connections: the program is
	// stopping.
	deadline := time.Now().Add(transcript.Timeout)
	for {
		c, err := net.Dial("tcp", gw)
		if err != nil {
			break
		}
		c.Close()
		require.True(t, time.Now().Before(deadline), "the gateway still takes connections")
		time.Sleep(time.Millisecond) // a poll, not a synchronisation: the loop waits for the refusal
	}
	clk.fire(t, "a heartbeat while the gateway drains", 2*time.Second, 0)
	clk.fire(t, "a repair round while the gateway drains", 30*time.Second, 0)
	release()
	a := <-answered
	require.NoError(t, a.err)
	assert.Equal(t, http.StatusCreated, a.status, "the PUT in flight when the program stopped: %s", a.body)
	<-stopped
	clk.assertStopped(t)
}

// heldBody is a request body whose first Read says so on reading, and
// waits for release before it returns rest.
type heldBody struct {
	reading, release chan struct{}
	rest             io.Reader
	started          bool
}

func (b *heldBody) Read(p []byte) (int, error) {
	if !b.started {
		b.started = true
		close(b.reading)
		<-b.release
	}
	return b.rest.Read(p)
}
