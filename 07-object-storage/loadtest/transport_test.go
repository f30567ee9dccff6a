package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every client keeps its connection to every target between requests,
// however many clients and targets there are: a pool that closed some
// would make one side pay for TCP set-up the other did not. Here 70
// clients on each of three targets (the baseline, R=1 and R=2), each
// target twice: the second time opens no connection. client.NewTransport
// alone keeps 64 a host and 100 in all, and failed both ways.
func TestEveryClientKeepsItsConnections(t *testing.T) {
	const clients = 70
	hc := newHTTPClient(clients)
	defer hc.CloseIdleConnections()
	l := &load{hc: hc}

	type server struct {
		*httptest.Server
		conns   atomic.Int64
		arrived chan struct{}
		gate    atomic.Pointer[chan struct{}]
	}
	var servers []*server
	for range 3 {
		s := &server{arrived: make(chan struct{}, clients)}
		s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			gate := *s.gate.Load()
			s.arrived <- struct{}{}
			<-gate
			w.Write([]byte("ok"))
		}))
		s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.conns.Add(1)
			}
		}
		s.Start()
		defer s.Close()
		servers = append(servers, s)
	}
	// wave has every client send one request to s, all of them in flight
	// at once (the handler holds each until all have arrived), so each
	// takes a connection of its own.
	wave := func(s *server) {
		gate := make(chan struct{})
		s.gate.Store(&gate)
		var wg sync.WaitGroup
		errs := make([]error, clients)
		for c := range clients {
			wg.Go(func() { errs[c] = l.do(target{url: s.URL}, http.MethodGet, "/", nil, 2) })
		}
		for range clients {
			<-s.arrived
		}
		close(gate)
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
	}
	for range 2 {
		for _, s := range servers {
			wave(s)
		}
	}
	for i, s := range servers {
		assert.Equal(t, int64(clients), s.conns.Load(), "target %d: connections opened for %d clients", i, clients)
	}
}
