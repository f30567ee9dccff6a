package client_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/client"
)

// A JSON decoder stops at the end of the value, and may leave the rest
// of the answer unread: the encoder's newline, and in a chunked answer
// (the metadata server's answers over 2 KiB: a listing, a page of
// versions, a large blob's chunk list) the last chunk, when it had not
// arrived with the value. An answer closed before its end closes its
// connection, and the next call dials the metadata server anew: under
// load, a TCP connection (and a socket in TIME_WAIT) per listing page.
// The client reads an answer to its end before closing it, so one
// connection serves every call. Here the rest of the answer is
// whitespace after the value, which the decoder stops before every time,
// where the chunk's end arrives late only sometimes.
func TestMetadataAnswersAreReadToTheirEnd(t *testing.T) {
	answer := `{"objects":[]}` + strings.Repeat(" ", 2048) + "\n"
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
		w.Write([]byte(answer))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := client.New(client.Options{MetaURL: srv.URL, TempDir: t.TempDir()})
	for range 3 {
		_, err := c.List(ctx, "", "", 0)
		require.NoError(t, err)
	}
	assert.Equal(t, int64(1), conns.Load(), "connections to the metadata server: answers closed before their end")
}

// A client keeps up to 64 idle connections to each server
// (client.NewTransport, its default): net/http's default Transport keeps
// 2, and a client sending many requests at once to a few servers then
// closes and dials connections all the time. Two waves of 64 calls, each
// call held by the server until all 64 have arrived (so each takes a
// connection of its own), open 64 connections, not 64 + 62.
func TestTheDefaultTransportKeepsConnectionsForConcurrentCalls(t *testing.T) {
	const calls = 64
	var conns atomic.Int64
	arrived := make(chan struct{}, calls)
	var gate atomic.Pointer[chan struct{}]
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g := *gate.Load()
		arrived <- struct{}{}
		<-g
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"objects":[]}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := client.New(client.Options{MetaURL: srv.URL, TempDir: t.TempDir()})
	for range 2 {
		g := make(chan struct{})
		gate.Store(&g)
		var wg sync.WaitGroup
		errs := make([]error, calls)
		for i := range calls {
			wg.Go(func() { _, errs[i] = c.List(ctx, "", "", 0) })
		}
		for range calls {
			<-arrived
		}
		close(g)
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
	}
	assert.Equal(t, int64(calls), conns.Load(), "connections opened for two waves of %d calls", calls)
}
